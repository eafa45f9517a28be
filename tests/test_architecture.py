"""The shape of the engine, checked from its source (docs/architecture.md):

1. no import circle among grader's modules, counting imports inside functions (those under
   `if TYPE_CHECKING:` aside, and a module importing a package it lives in);
2. the sandbox (grader/sandbox/) imports nothing of grader but itself, grader.errors and grader.limits;
3. no module outside grader/kinds/ compares a problem's kind with a kind's name.
"""
from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "grader"
SANDBOX_MAY_IMPORT = {"grader.errors", "grader.limits"}


def module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


MODULES = {module_name(p): p for p in PACKAGE.rglob("*.py")}


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    inside = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            inside.update(id(n) for n in ast.walk(node))
    return inside


def imported_modules(name: str) -> set[str]:
    """The grader modules `name` imports anywhere in its source (functions included)."""
    path = MODULES[name]
    tree = ast.parse(path.read_text(encoding="utf-8"))
    skip = _type_checking_nodes(tree)
    is_package = path.name == "__init__.py"
    found = set()
    for node in ast.walk(tree):
        if id(node) in skip:
            continue
        targets = []
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = name.split(".") if is_package else name.split(".")[:-1]
                parts = parts[:len(parts) - node.level + 1]
                base = ".".join(parts + ([node.module] if node.module else []))
            targets = [base] + [f"{base}.{alias.name}" for alias in node.names]
        for target in targets:
            if target in MODULES and target != name and not name.startswith(target + "."):
                found.add(target)
    return found


GRAPH = {name: imported_modules(name) for name in MODULES}


def cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components with more than one module (Tarjan)."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(v):
        index[v] = low[v] = len(index)
        stack.append(v)
        on_stack.add(v)
        for w in graph[v]:
            if w not in index:
                visit(w)
                low[v] = min(low[v], low[w])
            elif w in on_stack:
                low[v] = min(low[v], index[w])
        if low[v] == index[v]:
            component = []
            while True:
                w = stack.pop()
                on_stack.discard(w)
                component.append(w)
                if w == v:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for v in sorted(graph):
        if v not in index:
            visit(v)
    return found


def test_the_checker_sees_a_circle():
    assert cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c"]]


def test_no_import_circles():
    assert cycles(GRAPH) == [], "modules that import each other (directly or around a circle)"


def test_the_sandbox_knows_nothing_of_problems():
    outside = {(name, target) for name, targets in GRAPH.items() if name.startswith("grader.sandbox")
               for target in targets
               if not target.startswith("grader.sandbox") and target not in SANDBOX_MAY_IMPORT}
    assert not outside, f"the sandbox imports beyond grader.errors and grader.limits: {sorted(outside)}"


def _is_kind_expression(node: ast.AST) -> bool:
    """`x.kind`, `kind`, `data["kind"]` or `data.get("kind")`."""
    if isinstance(node, ast.Attribute):
        return node.attr == "kind"
    if isinstance(node, ast.Name):
        return node.id == "kind"
    if isinstance(node, ast.Subscript):
        return isinstance(node.slice, ast.Constant) and node.slice.value == "kind"
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr == "get":
        return bool(node.args) and isinstance(node.args[0], ast.Constant) and node.args[0].value == "kind"
    return False


def _kind_literals(node: ast.AST, kinds: set[str]) -> set[str]:
    if isinstance(node, ast.Constant) and node.value in kinds:
        return {node.value}
    if isinstance(node, (ast.Tuple, ast.List, ast.Set)):
        return {e.value for e in node.elts if isinstance(e, ast.Constant) and e.value in kinds}
    return set()


def kind_name_comparisons(source: str, kinds: set[str]) -> list[int]:
    """Lines comparing a kind with a kind's name (or a collection of names)."""
    lines = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Compare):
            sides = [node.left, *node.comparators]
            if any(_is_kind_expression(s) for s in sides) and any(_kind_literals(s, kinds) for s in sides):
                lines.append(node.lineno)
    return lines


def test_the_checker_sees_kind_comparisons():
    kinds = {"function", "numeric"}
    assert kind_name_comparisons('if problem.kind == "function": pass', kinds) == [1]
    assert kind_name_comparisons('x = data.get("kind") in ("numeric", "choice")', kinds) == [1]
    assert kind_name_comparisons('if dtype.kind == "f": pass', kinds) == []


def test_only_the_kinds_package_knows_kind_names():
    from grader.kinds import KINDS

    kinds = set(KINDS)
    found = []
    for name, path in MODULES.items():
        if name == "grader.kinds" or name.startswith("grader.kinds."):
            continue
        found += [f"{path.relative_to(PACKAGE.parent)}:{line}"
                  for line in kind_name_comparisons(path.read_text(encoding="utf-8"), kinds)]
    assert not found, f"compare a kind with a name outside grader/kinds/ (use the Kind interface): {found}"


@pytest.mark.parametrize("package", ["sandbox", "problems", "compare", "kinds", "classes", "authoring",
                                     "render", "cli"])
def test_each_package_says_what_it_owns(package):
    init = PACKAGE / package / "__init__.py"
    docstring = ast.get_docstring(ast.parse(init.read_text(encoding="utf-8")))
    assert docstring and len(docstring.splitlines()) == 1, f"{init}: a one-line docstring saying what it owns"


def test_the_child_loads_nothing_of_the_engine():
    """What a sandboxed child imports: the sandbox package, errors and limits at most."""
    import subprocess
    import sys

    code = ("import sys; import grader.sandbox.child, grader.sandbox.codec; "
            "print(sorted(m for m in sys.modules if m.startswith('grader')))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60,
                         cwd=PACKAGE.parent, check=True).stdout
    loaded = eval(out)  # noqa: S307 - our own process's printed list of names
    assert all(m == "grader" or m.startswith("grader.sandbox") or m in SANDBOX_MAY_IMPORT for m in loaded), loaded


def test_the_public_api_resolves():
    import inspect

    import grader

    for name in grader.__all__:
        assert getattr(grader, name) is not None, name
    assert "problem_id" in inspect.signature(grader.grade).parameters
