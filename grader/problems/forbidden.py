"""Static check for forbidden APIs in a submission's source.

A problem spec can forbid APIs such as ``torch.autograd``, ``Tensor.backward``
or ``numpy.linalg.inv``.  :func:`find_forbidden` parses the submission's
source with :mod:`ast` (the code is never imported or run here) and reports
every use it can see, with its line, so the problem can score 0 with a
message naming the line.

Entries come in two kinds:

* **Module entries** (``torch.autograd``, ``numpy.linalg.inv``,
  ``torch.nn.functional.scaled_dot_product_attention``) match any use whose
  resolved dotted name equals the entry or starts with ``entry + "."``.
  Import aliases are resolved (``import torch as T``,
  ``import torch.nn.functional as F``, ``from torch import autograd as ag``,
  ``from torch.autograd import grad``, ``from numpy import linalg``, ...), as
  are names assigned once from them (``ag = torch.autograd``).  Import
  statements themselves count as uses.  Relative imports are ignored.
* **Method entries** are those with a ``Tensor`` or ``ndarray`` component
  before the last one (``Tensor.backward``, ``torch.Tensor.backward``,
  ``ndarray.dot``).  Types are unknown statically, so they match an
  attribute access with that name on any expression (``loss.backward()``,
  ``(x * y).sum().backward``), except where the submission defines a method
  of that name itself (a NumPy layer class with ``backward``): then only a
  receiver known to be a tensor (or array) of the entry's library is flagged,
  such as ``torch.sigmoid(x).backward()`` or a name assigned only such values,
  and the rest is left to the run-time check (grader/sandbox/forbidden_runtime.py).
  ``self``/``cls`` are never taken for tensors.

Dynamic look-ups with a constant string are also caught:
``getattr(x, "backward")``, ``getattr(torch, "autograd")``,
``__import__("torch.autograd")``, ``importlib.import_module(...)``,
``sys.modules["torch.autograd"]``.  When
anything is forbidden, every call to ``eval``, ``exec`` or ``compile`` is
reported with api :data:`DYNAMIC_CODE`, since code built at run time cannot
be checked.

This check is best effort: a determined student can hide a call (for example
through strings built at run time, ``vars()``/``__dict__`` look-ups, or
``operator.methodcaller``).  Name resolution is flow-insensitive (an alias
holds for the whole file).  The child also watches the forbidden APIs while
the submission runs (grader/sandbox/forbidden_runtime.py), which catches what this
check cannot see, such as a ``getattr`` with a computed string.
"""

from __future__ import annotations

import ast
import functools
from collections import Counter

from grader.sandbox.forbidden_runtime import ForbiddenUse

__all__ = ["DYNAMIC_CODE", "ForbiddenUse", "TreeNodes", "find_forbidden", "method_names", "tree_nodes"]

#: The ``api`` reported for eval/exec/compile calls.
DYNAMIC_CODE = "dynamic code (eval/exec)"

_DYNAMIC_BUILTINS = ("eval", "exec", "compile")
_CLASS_NAMES = ("Tensor", "ndarray")
_CLASS_PACKAGES = {"Tensor": "torch", "ndarray": "numpy"}
_SELF_NAMES = ("self", "cls")


def find_forbidden(
    source: str | bytes | ast.Module,
    forbidden: list[str],
    filename: str = "<submission>",
    own_methods: set[str] | None = None,
    nodes: TreeNodes | None = None,
) -> list[ForbiddenUse]:
    """Return the uses of forbidden APIs in ``source``, sorted by line.

    ``source`` is text, the file's bytes (decoded as Python decodes them: give
    bytes where you have them) or a parsed tree.  ``own_methods`` are the
    method names the whole submission defines in its classes (by default, this
    file's).  ``nodes``: ``tree_nodes(tree)`` where the caller keeps them (a
    file checked for several lists).  Raises :class:`SyntaxError` as Python
    would if the source does not parse.
    """
    tree = source if isinstance(source, ast.Module) else ast.parse(source, filename=filename)
    entries = [e.strip() for e in forbidden if e and e.strip()]
    if not entries:
        return []
    nodes = nodes or tree_nodes(tree)
    finder = _Finder(entries, filename, method_names(tree) if own_methods is None else own_methods)
    finder.collect_aliases(nodes.bindings)
    finder.visit_all(nodes.in_order)
    unique: dict[tuple[int, int, str], ForbiddenUse] = {}
    for use in finder.uses:
        unique.setdefault((use.line, use.col, use.name), use)
    return sorted(unique.values(), key=lambda u: (u.line, u.col, u.name))


class TreeNodes:
    """A tree's nodes, listed in one walk for every use of them: `in_order` as ast.NodeVisitor
    visits them (depth first, each node before its children, children in field order), `walked` in
    ast.walk's order (breadth first: level by level, each level in visiting order; aliases: a later
    binding wins), and `depth` levels with `depth_line` for the depth check (grader/problems/source.py)."""

    def __init__(self, walked: list[ast.AST], in_order: list[ast.AST], depth: int, depth_line: int):
        self.walked, self.in_order = walked, in_order
        self.depth, self.depth_line = depth, depth_line

    @functools.cached_property
    def bindings(self) -> "Bindings":
        """What the file binds (`Bindings`), found once for every forbidden list it is checked against."""
        return Bindings(self.walked)


class Bindings:
    """The names a file binds, whatever is forbidden, from its nodes in ast.walk's order:
    `imports` (local name -> dotted name, a later import winning), the modules of its star
    imports, how many times each name is bound (`bound`), and the values of each name's simple
    assignments (`assigned`: `x = ...`, `x: T = ...`, `(x := ...)`)."""

    def __init__(self, walked: list[ast.AST]):
        self.imports: dict[str, str] = {}
        self.stars: list[str] = []
        self.bound: Counter[str] = Counter()
        self.assigned: dict[str, list[ast.AST]] = {}
        for node in walked:
            if isinstance(node, ast.Import):
                for a in node.names:
                    if a.asname:
                        self.imports[a.asname] = a.name
                    else:
                        top = a.name.split(".")[0]
                        self.imports[top] = top
            elif isinstance(node, ast.ImportFrom):
                if node.level or not node.module:
                    continue
                for a in node.names:
                    if a.name == "*":
                        self.stars.append(node.module)
                    else:
                        self.imports[a.asname or a.name] = f"{node.module}.{a.name}"
            elif isinstance(node, ast.Name) and not isinstance(node.ctx, ast.Load):
                self.bound[node.id] += 1
            elif isinstance(node, ast.arg):
                self.bound[node.arg] += 1
            elif isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                self.bound[node.name] += 1
            elif isinstance(node, ast.Assign):
                if len(node.targets) == 1 and isinstance(node.targets[0], ast.Name):
                    self.assigned.setdefault(node.targets[0].id, []).append(node.value)
            elif isinstance(node, (ast.AnnAssign, ast.NamedExpr)):
                if isinstance(node.target, ast.Name) and node.value:
                    self.assigned.setdefault(node.target.id, []).append(node.value)


def tree_nodes(tree: ast.AST) -> TreeNodes:
    """The tree's nodes in both orders and its depth, without recursion. `depth_line` is the line
    of the last node on the deepest level, or where it has none (a `Load`, an `arguments`) that of
    the last node one level up, and so on (0 for none)."""
    in_order: list[ast.AST] = []
    levels: list[list[ast.AST]] = []  # the nodes of each level, in visiting order
    stack: list[tuple[ast.AST, int]] = [(tree, 0)]
    while stack:
        node, level = stack.pop()
        in_order.append(node)
        if level == len(levels):
            levels.append([])
        levels[level].append(node)
        stack.extend((child, level + 1) for child in reversed(_child_nodes(node)))
    line = 0
    for nodes in levels:
        line = getattr(nodes[-1], "lineno", line)
    return TreeNodes([node for nodes in levels for node in nodes], in_order, len(levels), line)


def _child_nodes(node: ast.AST) -> list[ast.AST]:
    """list(ast.iter_child_nodes(node)), without its two generators per node."""
    children = []
    for name in node._fields:
        value = getattr(node, name, None)
        if isinstance(value, ast.AST):
            children.append(value)
        elif isinstance(value, list):
            children.extend(item for item in value if isinstance(item, ast.AST))
    return children


def method_names(tree: ast.AST, nodes: TreeNodes | None = None) -> set[str]:
    """Names of the methods that classes in ``tree`` define (``nodes``: its `tree_nodes`, where
    the caller has them, to walk the list instead of the tree)."""
    return {
        item.name
        for node in (nodes.walked if nodes is not None else ast.walk(tree))
        if isinstance(node, ast.ClassDef)
        for item in node.body
        if isinstance(item, (ast.FunctionDef, ast.AsyncFunctionDef))
    }


def _is_method_entry(entry: str) -> bool:
    parts = entry.split(".")
    return any(p in _CLASS_NAMES for p in parts[:-1])


def _const_str(node: ast.AST | None) -> str | None:
    if isinstance(node, ast.Constant) and isinstance(node.value, str):
        return node.value
    return None


class _Finder:
    def __init__(self, entries: list[str], filename: str, own_methods: set[str]) -> None:
        self.filename = filename
        self.own_methods = own_methods
        self.module_entries: list[str] = []
        self.method_entries: dict[str, str] = {}  # method name -> entry
        self.valued: dict[str, set[str]] = {"torch": set(), "numpy": set()}  # package -> names of its values
        for entry in entries:
            if _is_method_entry(entry):
                self.method_entries.setdefault(entry.split(".")[-1], entry)
            else:
                self.module_entries.append(entry)
        # Names that mean a module even without an import in sight.
        self.roots = {e.split(".")[0] for e in self.module_entries}
        self.roots |= {"importlib", "builtins", "sys"}
        self.aliases: dict[str, str] = {}  # local name -> canonical dotted name
        self.covered: set[int] = set()  # nodes inside an already reported chain
        self.uses: list[ForbiddenUse] = []

    # ----------------------------------------------------------- aliases
    def collect_aliases(self, bindings: Bindings) -> None:
        """Import aliases and simply assigned names, from what the file binds."""
        self.aliases.update(bindings.imports)
        bound, assigned = bindings.bound, bindings.assigned
        # `from torch.nn.functional import *` makes the bare names of
        # forbidden entries below that module available.
        for module in bindings.stars:
            for entry in self.module_entries:
                if entry.startswith(module + "."):
                    name = entry[len(module) + 1 :].split(".")[0]
                    if name not in bound and name not in self.aliases:
                        self.aliases[name] = f"{module}.{name}"
        # `ag = torch.autograd`, `m = importlib.import_module("...")`, `(F := torch.nn.functional)`,
        # for names bound only by that one assignment.
        for target, values in assigned.items():
            if bound[target] == 1:
                resolved = self.resolve(values[0])
                if resolved:
                    self.aliases[target] = resolved
        # Names every binding of which is a value of torch (numpy): `y = torch.sigmoid(x)`.
        for package, names in self.valued.items():
            for _ in range(3):  # chains such as `z = y * 2` after `y = torch.sigmoid(x)`
                known = len(names)
                for target, values in assigned.items():
                    if bound[target] == len(values) and all(self.value_of(v, package) for v in values):
                        names.add(target)
                if len(names) == known:
                    break  # nothing new: another pass would find nothing either

    # ----------------------------------------------------------- resolving
    def resolve(self, node: ast.AST) -> str | None:
        """Canonical dotted name of ``node``, or None if it is not one."""
        if isinstance(node, ast.Name):
            if node.id in self.aliases:
                return self.aliases[node.id]
            return node.id if node.id in self.roots else None
        if isinstance(node, ast.Attribute):
            base = self.resolve(node.value)
            return f"{base}.{node.attr}" if base else None
        if isinstance(node, ast.Call):
            attr = self._getattr_string(node)
            if attr is not None:
                base = self.resolve(node.args[0])
                return f"{base}.{attr}" if base else None
            module = self._import_string(node)
            if module is not None:
                return module
        if isinstance(node, ast.Subscript) and self.resolve(node.value) == "sys.modules":
            return _const_str(node.slice)
        return None

    def value_of(self, node: ast.AST, package: str) -> bool:
        """Whether ``node`` is surely a value of ``package`` (a torch tensor, a numpy array)."""
        if isinstance(node, ast.Name):
            name = self.resolve(node)
            return node.id in self.valued[package] or bool(name and name.startswith(package + "."))
        if isinstance(node, ast.Attribute):
            name = self.resolve(node)
            return bool(name and name.startswith(package + ".")) or self.value_of(node.value, package)
        if isinstance(node, ast.Call):
            return self.value_of(node.func, package)
        if isinstance(node, ast.BinOp):
            return self.value_of(node.left, package) or self.value_of(node.right, package)
        if isinstance(node, ast.UnaryOp):
            return self.value_of(node.operand, package)
        if isinstance(node, ast.Subscript):
            return self.value_of(node.value, package)
        return False

    def method_use(self, receiver: ast.AST, method: str) -> str | None:
        """The method entry that ``receiver.method`` surely uses, or None."""
        entry = self.method_entries.get(method)
        if entry is None:
            return None
        if isinstance(receiver, ast.Name) and receiver.id in _SELF_NAMES:
            return None  # the class's own method (a class that subclasses Tensor is not worth the risk)
        if method in self.own_methods:
            # The submission defines a method of this name: flag only a receiver surely of the library.
            cls = next(p for p in entry.split(".")[:-1] if p in _CLASS_NAMES)
            if not self.value_of(receiver, _CLASS_PACKAGES[cls]):
                return None
        return entry

    def _chain(self, node: ast.AST) -> list[ast.AST]:
        """The nodes `resolve` walked through below ``node``."""
        inner: list[ast.AST] = []
        while True:
            if isinstance(node, ast.Attribute):
                node = node.value
            elif isinstance(node, ast.Call) and self._getattr_string(node) is not None:
                node = node.args[0]
            else:
                return inner
            inner.append(node)

    def _is_builtin(self, func: ast.AST, name: str) -> bool:
        if isinstance(func, ast.Name) and func.id == name:
            return name not in self.aliases
        return self.resolve(func) == f"builtins.{name}"

    def _getattr_string(self, call: ast.Call) -> str | None:
        if self._is_builtin(call.func, "getattr") and len(call.args) >= 2:
            return _const_str(call.args[1])
        return None

    def _import_string(self, call: ast.Call) -> str | None:
        """Module a constant-string dynamic import evaluates to, or None."""
        if not call.args:
            return None
        module = _const_str(call.args[0])
        if module is None:
            return None
        if self.resolve(call.func) == "importlib.import_module":
            return module
        if self._is_builtin(call.func, "__import__"):
            # __import__("a.b") returns the top package unless fromlist is given.
            has_fromlist = len(call.args) >= 4 or any(
                k.arg == "fromlist" for k in call.keywords
            )
            return module if has_fromlist else module.split(".")[0]
        return None

    # ----------------------------------------------------------- matching
    def match_module(self, name: str | None) -> str | None:
        if name:
            for entry in self.module_entries:
                if name == entry or name.startswith(entry + "."):
                    return entry
        return None

    def report(self, api: str, name: str, line: int, col: int) -> None:
        self.uses.append(ForbiddenUse(api, name, self.filename, line, col))

    def describe(self, node: ast.AST) -> str:
        """Short text for a receiver expression, for messages."""
        resolved = self.resolve(node)
        if resolved:
            return resolved
        parts: list[str] = []
        while isinstance(node, ast.Attribute):
            parts.append(node.attr)
            node = node.value
        if isinstance(node, ast.Name):
            parts.append(node.id)
            return ".".join(reversed(parts))
        return "<expression>"

    def report_chain(self, node: ast.AST, line: int, col: int) -> bool:
        """Report ``node`` if its resolved name is forbidden; True if reported."""
        if id(node) in self.covered:
            return False
        name = self.resolve(node)
        entry = self.match_module(name)
        if entry is None:
            return False
        self.report(entry, name, line, col)
        self.covered.update(id(n) for n in self._chain(node))
        return True

    # ----------------------------------------------------------- visitors
    def visit_all(self, in_order: list[ast.AST]) -> None:
        """Each node in the order ast.NodeVisitor would visit it (TreeNodes.in_order), given to its
        visit_ method: the same calls as `visit(tree)` with each method visiting its children,
        as the nodes whose methods do not (Import, ImportFrom, Name) hold none with a method."""
        handlers = {ast.Import: self.visit_Import, ast.ImportFrom: self.visit_ImportFrom,
                    ast.Name: self.visit_Name, ast.Attribute: self.visit_Attribute,
                    ast.Subscript: self.visit_Subscript, ast.Call: self.visit_Call}
        for node in in_order:
            handler = handlers.get(type(node))
            if handler is not None:
                handler(node)

    def visit_Import(self, node: ast.Import) -> None:
        for a in node.names:
            entry = self.match_module(a.name)
            if entry:
                self.report(entry, a.name, a.lineno, a.col_offset)

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        if node.level or not node.module:
            return
        for a in node.names:
            if a.name == "*":
                name, line, col = node.module, node.lineno, node.col_offset
            else:
                name, line, col = f"{node.module}.{a.name}", a.lineno, a.col_offset
            entry = self.match_module(name)
            if entry:
                self.report(entry, name, line, col)

    def visit_Name(self, node: ast.Name) -> None:
        if isinstance(node.ctx, ast.Load):
            self.report_chain(node, node.lineno, node.col_offset)

    def visit_Attribute(self, node: ast.Attribute) -> None:
        if isinstance(node.ctx, ast.Load):
            # Point at the attribute name itself (right for chained calls).
            line = node.end_lineno or node.lineno
            col = (node.end_col_offset or 0) - len(node.attr)
            self.report_chain(node, line, col)
            entry = self.method_use(node.value, node.attr)
            if entry:
                self.report(entry, f"{self.describe(node.value)}.{node.attr}", line, col)

    def visit_Subscript(self, node: ast.Subscript) -> None:
        if isinstance(node.ctx, ast.Load):
            self.report_chain(node, node.lineno, node.col_offset)

    def visit_Call(self, node: ast.Call) -> None:
        line, col = node.lineno, node.col_offset
        for builtin in _DYNAMIC_BUILTINS:
            if self._is_builtin(node.func, builtin):
                self.report(DYNAMIC_CODE, builtin, line, col)

        attr = self._getattr_string(node)
        if attr is not None:
            self._check_getattr(node, attr, line, col)
        else:
            module = _const_str(node.args[0]) if node.args else None
            if (
                module is not None
                and id(node) not in self.covered
                and self._import_string(node) is not None
            ):
                entry = self.match_module(module)
                if entry:
                    self.report(entry, module, line, col)

    def _check_getattr(self, node: ast.Call, attr: str, line: int, col: int) -> None:
        reported = self.report_chain(node, line, col)
        receiver = node.args[0]
        own = attr in self.own_methods or (isinstance(receiver, ast.Name) and receiver.id in _SELF_NAMES)
        if not reported and not own and id(node) not in self.covered and self.resolve(receiver) is None:
            # Base not resolvable: match the string against the tail of
            # module entries, e.g. "autograd" for "torch.autograd".
            for entry in self.module_entries:
                parts = entry.split(".")
                tails = {".".join(parts[i:]) for i in range(1, len(parts))}
                if attr in tails:
                    name = f"{self.describe(node.args[0])}.{attr}"
                    self.report(entry, name, line, col)
                    break
        entry = self.method_use(receiver, attr)
        if entry:
            self.report(entry, f"{self.describe(receiver)}.{attr}", line, col)
