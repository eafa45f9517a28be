"""Checking a submission's Python source before it runs: as Python reads it, within a budget.

The trusted process parses student source to find the file that defines the entry point and
to look for forbidden APIs (grader/problems/forbidden.py). Two rules make that safe:

* **Bytes, decoded as Python decodes them.** Each file is parsed from its bytes with
  `ast.parse`, which decodes them exactly as `compile` does in the child and as `import` does
  for helper modules (a PEP 263 coding cookie, a UTF-8 byte-order mark). The check sees the
  code the child runs: a `# coding: utf-7` cookie cannot hide a call from it, and a file saved
  with a BOM parses. The child is handed the very same bytes (runner.Job.files).
* **A budget.** Parsing costs up to about 3.5 us and 0.9 KB of memory per byte of pathological
  source (1 MB of one-character lines: 3.5 s and 0.9 GB), all holding the GIL. Sources up to
  IN_PROCESS_BYTES in all are parsed and checked here (worst case about 0.4 s of CPU and
  60 MB); larger ones in a short-lived helper process with CPU, memory and wall-time limits, so
  a huge file costs this process (and the other students it is grading) nothing. A submission
  that cannot be checked within the budget (or nests code deeper than MAX_DEPTH where APIs are
  forbidden) fails with a message that says so: skipping the check instead would let a student
  switch it off by padding the file.

A class grades each student's problems one after another or at once, each checking the same
files: what one check learned about a file (its tree or syntax error, depth, top-level and method
names, forbidden uses per list) is kept in a small cache keyed by the file's name and a SHA-256
of its bytes, so the next problem parses nothing again. The cache holds at most CACHE_FILES
files and CACHE_BYTES of their source (the trees take up to 0.9 KB per byte), least recently
used out first; the helper process keeps nothing.
"""
from __future__ import annotations

import ast
import hashlib
import importlib.util
import json
import signal
import subprocess
import sys
import threading
from dataclasses import dataclass, field

from grader.problems.forbidden import ForbiddenUse, TreeNodes, find_forbidden, method_names, tree_nodes
from grader.sandbox.lru import LRUCache

#: Total bytes of Python source parsed in the grader's own process; more goes to the helper.
IN_PROCESS_BYTES = 64 << 10
#: The helper's limits: address space, CPU seconds, wall seconds (the wall limit allows for load).
HELPER_MEMORY_BYTES = 1 << 30
HELPER_CPU_SECONDS = 10
HELPER_WALL_SECONDS = 120  # generous: CPU time is the bound; a loaded machine must not fail a student
#: Forbidden-API findings kept (the message shows 10).
MAX_USES = 50
#: Deepest syntax tree the forbidden-API check walks (its visitor recurses; real code stays under
#: 30 levels). Where APIs are forbidden, a deeper file is the student's failure: unchecked, it
#: could hide a call.
MAX_DEPTH = 200
#: The parsed-file cache's bounds (see the module docstring): files, and bytes of their source.
CACHE_FILES = 64
CACHE_BYTES = 512 << 10


@dataclass
class SourceCheck:
    """What the static check found in a submission's .py files."""

    defining: list[str] = field(default_factory=list)      #: files that define the entry point at top level
    importing: list[str] = field(default_factory=list)     #: files that only import it at top level
    errors: dict[str, str] = field(default_factory=dict)   #: file -> why it does not parse
    uses: list[ForbiddenUse] = field(default_factory=list)  #: forbidden APIs, by file, then line
    budget_error: str | None = None                          #: the check could not finish (budget, depth)
    in_helper: bool = False                                  #: parsed in the helper process (large source)


def decode_source(data: bytes) -> str:
    """The text Python reads from these bytes (coding cookie, BOM); undecodable bytes escaped."""
    try:
        return importlib.util.decode_source(data)
    except (SyntaxError, UnicodeDecodeError, LookupError, ValueError):
        return data.decode("utf-8", errors="backslashreplace")


_AST_LOCK = threading.Lock()  #: one ast.parse at a time in this process (see check_sources); guards _PARSED's look-up and fill


def check_sources(files: dict[str, bytes], entry_point: str, forbidden: list[str]) -> SourceCheck:
    """Parse every .py file of a submission within the budget; find the entry point and forbidden APIs."""
    sources = {name: data for name, data in files.items() if name.endswith(".py")}
    if sum(len(data) for data in sources.values()) <= IN_PROCESS_BYTES:
        return analyse(sources, entry_point, forbidden)
    return _in_helper(sources, entry_point, forbidden)


def analyse(sources: dict[str, bytes], entry_point: str, forbidden: list[str],
            in_helper: bool = False) -> SourceCheck:
    """The check itself, unbounded: call it only on bounded input (or in the helper)."""
    check = SourceCheck()
    parsed = {name: _parse(name, data, in_helper) for name, data in sources.items()}
    check.errors = {name: file.error for name, file in parsed.items() if file.error is not None}
    trees = {name: file for name, file in parsed.items() if file.tree is not None}
    for name, file in trees.items() if forbidden else ():
        depth, line = file.depth()
        if depth > MAX_DEPTH:
            check.budget_error = (f"{name} line {line}: code nested {depth} levels deep; the grader checks "
                                  f"at most {MAX_DEPTH}: split the expression up")
            return check
    check.defining = [name for name, file in trees.items() if entry_point in file.names(imports=False)]
    check.importing = [name for name, file in trees.items()
                       if name not in check.defining and entry_point in file.names(imports=True)]
    if forbidden:
        # Method names the submission defines itself: `layer.backward()` may be its own method.
        own = frozenset().union(*(file.methods() for file in trees.values()))
        for file in trees.values():
            check.uses += file.forbidden_uses(forbidden, own)
        check.uses = check.uses[:MAX_USES]
    return check


class _ParsedFile:
    """One file's tree (or why it does not parse) and what the checks found in it, each found once.

    Shared between threads: the tree is only read; each finding is computed under `lock`."""

    def __init__(self, name: str, tree: ast.Module | None, error: str | None) -> None:
        self.name, self.tree, self.error = name, tree, error
        self.lock = threading.RLock()  # a finding may need another (the node lists)
        self._found: dict = {}

    def _once(self, key, compute):
        with self.lock:
            if key not in self._found:
                self._found[key] = compute()
            return self._found[key]

    def nodes(self) -> TreeNodes:
        return self._once("nodes", lambda: tree_nodes(self.tree))

    def depth(self) -> tuple[int, int]:
        """(levels of the deepest node, a line there): see tree_nodes."""
        nodes = self.nodes()
        return nodes.depth, nodes.depth_line

    def names(self, imports: bool) -> set[str]:
        return self._once(("names", imports), lambda: top_level_names(self.tree, imports=imports))

    def methods(self) -> set[str]:
        return self._once("methods", lambda: method_names(self.tree, self.nodes()))

    def forbidden_uses(self, forbidden: list[str], own: frozenset[str]) -> list[ForbiddenUse]:
        """find_forbidden's answer for this list and the submission's own methods (the list is not
        to be changed: it is shared)."""
        return self._once(("uses", tuple(forbidden), own),
                          lambda: find_forbidden(self.tree, forbidden, filename=self.name, own_methods=set(own),
                                                 nodes=self.nodes()))


_PARSED = LRUCache(CACHE_FILES, CACHE_BYTES)  #: (name, SHA-256 of the bytes) -> _ParsedFile, sized by the bytes


def _parse(name: str, data: bytes, in_helper: bool) -> _ParsedFile:
    """The file parsed (from the cache when these bytes under this name were parsed before)."""
    key = (name, hashlib.sha256(data).digest())
    with _AST_LOCK:  # CPython 3.11: ast.parse in two threads at once can fail (SystemError:
        # AST constructor recursion depth mismatch); holding it for the look-up as well lets the
        # problems of one student, checked at once, parse the file once between them.
        cached = None if in_helper else _PARSED.get(key)
        if cached is not None:
            return cached
        try:
            parsed = _ParsedFile(name, ast.parse(data, filename=name), None)
        except (SyntaxError, ValueError) as exc:
            parsed = _ParsedFile(name, None, syntax_message(name, exc))
        except (RecursionError, MemoryError):
            if in_helper:
                raise  # out of the helper's memory: the budget's end, not the file's fault
            # Small source: the parser's own depth limit, which the child's compile hits too (not
            # kept: a MemoryError may be the moment's, not the file's).
            return _ParsedFile(name, None, f"{name} is nested too deeply for Python to parse; simplify the code")
        if not in_helper:
            _PARSED.put(key, parsed, len(data))  # not kept if larger than CACHE_BYTES
        return parsed


def syntax_message(name: str, exc: SyntaxError | ValueError) -> str:
    """A student's message for a file that does not parse (or decode), with the line shown."""
    if not isinstance(exc, SyntaxError):
        return f"{name} cannot be read as Python: {exc}"
    text = exc.msg or str(exc)
    if "unicode error" in text or "encoding" in text or "codec" in text:
        return (f"{name} line {exc.lineno or 1}: {text}; save the file as UTF-8 "
                "(or declare its encoding in a '# -*- coding: ... -*-' line)")
    pointer = ""
    if exc.text and exc.lineno:
        shown = exc.text.rstrip()[:200]
        pointer = f"\n    {shown}\n    {' ' * min(max((exc.offset or 1) - 1, 0), len(shown))}^"
    where = f" line {exc.lineno}" if exc.lineno else ""
    return f"SyntaxError in {name}{where}: {text}{pointer}"


def top_level_names(tree: ast.Module, imports: bool = True) -> set[str]:
    """Names a module binds at top level (def, class, assignment; with `imports`, import too)."""
    names: set[str] = set()
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, (ast.Assign, ast.AnnAssign)):
            targets = node.targets if isinstance(node, ast.Assign) else [node.target]
            names.update(t.id for t in targets if isinstance(t, ast.Name))
        elif imports and isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    return names


# --------------------------------------------------------------------------- the helper process

def _in_helper(sources: dict[str, bytes], entry_point: str, forbidden: list[str]) -> SourceCheck:
    """Run `analyse` in a fresh Python with limits; a failure within them is the student's."""
    from grader.sandbox.runner import GRADER_HOME

    size = sum(len(data) for data in sources.values())
    request = json.dumps({"sources": {name: data.decode("latin-1") for name, data in sources.items()},
                          "entry_point": entry_point, "forbidden": list(forbidden),
                          "limits": [HELPER_MEMORY_BYTES, HELPER_CPU_SECONDS]})
    code = f"import sys; sys.path.insert(0, {GRADER_HOME!r}); from grader.problems.source import helper_main; helper_main()"
    over = (f"the grader could not check your source within its budget ({size} bytes of Python; "
            f"{HELPER_CPU_SECONDS} s and {HELPER_MEMORY_BYTES >> 20} MB to parse it); "
            "a solution is far smaller: remove generated code or data written as Python")
    try:
        proc = subprocess.run([sys.executable, "-I", "-S", "-c", code], input=request.encode("latin-1"),
                              capture_output=True, timeout=HELPER_WALL_SECONDS)
    except subprocess.TimeoutExpired:
        return SourceCheck(budget_error=over, in_helper=True)
    if proc.returncode in _OVER_BUDGET:
        return SourceCheck(budget_error=over, in_helper=True)
    try:
        if proc.returncode != 0:
            raise ValueError(f"exit status {proc.returncode}: {proc.stderr.decode(errors='replace')[-500:]}")
        data = json.loads(proc.stdout)
        return SourceCheck(defining=[str(n) for n in data["defining"]],
                           importing=[str(n) for n in data["importing"]],
                           errors={str(k): str(v) for k, v in data["errors"].items()},
                           budget_error=data["budget_error"] and str(data["budget_error"]),
                           uses=[ForbiddenUse(*u) for u in data["uses"]], in_helper=True)
    except (ValueError, KeyError, TypeError) as exc:  # the helper is trusted code: this is a grader bug
        raise RuntimeError(f"the source-check helper failed: {exc}") from exc


#: How the helper ends when the source is over its budget: out of memory (its own status),
#: or killed at the CPU limit (SIGXCPU, then SIGKILL at the hard limit).
_OVER_BUDGET = {3, -signal.SIGXCPU, -signal.SIGKILL}


def helper_main() -> None:
    """The helper's side: read the request on stdin, limit this process, analyse, answer on stdout."""
    import resource

    request = json.loads(sys.stdin.buffer.read().decode("latin-1"))
    memory, cpu = request["limits"]
    resource.setrlimit(resource.RLIMIT_AS, (memory, memory))
    resource.setrlimit(resource.RLIMIT_CPU, (cpu, cpu + 1))
    try:
        check = analyse({name: text.encode("latin-1") for name, text in request["sources"].items()},
                        request["entry_point"], request["forbidden"], in_helper=True)
        answer = json.dumps({"defining": check.defining, "importing": check.importing, "errors": check.errors, "budget_error": check.budget_error,
                             "uses": [[u.api, u.name, u.file, u.line, u.col] for u in check.uses]})
    except (MemoryError, RecursionError):
        sys.exit(3)
    sys.stdout.write(answer)
