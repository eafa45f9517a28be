"""Turning a Jupyter notebook into the Python module the grader loads.

Two modes, chosen per assignment (`notebook:`) or with `--notebook`:

- `definitions` (the default): only what defines things runs: imports, functions, classes and
  constant assignments, in cell order (the last definition wins), plus any other assignment
  whose name those definitions use. Plots, training loops and data reads at top level are left
  out, so a correct function is graded even when the rest of the notebook needs a GPU, a data
  file, Colab or otter. An import that fails (matplotlib, google.colab, otter... not installed
  where the grader runs) does not sink the notebook: its names become placeholders that raise an
  error naming the skipped import only if a graded function uses them, and a note says so.
- `run`: every code cell runs in order, as "Run all" would; a failing cell stops the load and the
  child reports it as "hw.ipynb cell 5 line 2: NameError: ...". The time budget is the
  `load_time` limit.

IPython syntax is recognised the way IPython's own input transformers recognise it, without
depending on IPython (a large install for a few rules): a magic (`%x`, `!cmd`, `x = !cmd`,
`x = %x`, `obj?`, `?obj`) counts only at the start of a logical line, which `tokenize` finds, so
a comment (`# right?`) or a continuation line (`% 2`, `!= y` inside brackets) stays Python. Magics
become calls on a harmless `get_ipython()` stub (as IPython turns them into calls on its shell);
`display()` is a no-op. `%%writefile NAME` cells become files of the submission, so a later
`import helper` works; other cell magics with a non-Python body (`%%bash`, `%%html`...) do nothing.

Everything here runs in the trusted process on hostile bytes: the file size is capped before
parsing (by grader.problems.submission), the code in the cells is capped before `tokenize`/`ast` see it,
and anything malformed is a NotebookError (the student's result), never another exception.

Each cell starts with a `# grader: cell N` line (N counts every cell from the top, markdown
included), so the child can name the cell and the line within it (grader.sandbox.child.source_location).
"""
from __future__ import annotations

import ast
import json
import re
import tokenize
from dataclasses import dataclass, field

from grader.errors import SubmissionError

MODES = ("definitions", "run")
DEFAULT_MODE = "definitions"

#: Code in a notebook's code cells, all together: ten times a long course notebook (~50 KB of
#: code), low enough that the grader's own parsing stays within seconds (docs/notebooks.md).
MAX_CODE_CHARS = 512 << 10

#: Cell magics whose body is plain Python: only the magic line does nothing.
PYTHON_CELL_MAGICS = {"time", "timeit", "capture", "prun"}

_ASSIGN_MAGIC = re.compile(r"(?P<lhs>[A-Za-z_][\w.]*(?:\s*,\s*[A-Za-z_][\w.]*)*)\s*=\s*(?P<esc>!|%)(?P<rest>.*)")
_HELP = re.compile(r"(\?{1,2})?(?P<name>[A-Za-z_][\w.]*)(\?{1,2})?")
_SAFE_FILE = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*(/[A-Za-z0-9_][A-Za-z0-9_.\-]*)*")

#: What can carry a logical line onto the next physical line: brackets, strings, a backslash.
_OPENERS = frozenset("([{'\"\\")

CELL_MARK = "# grader: cell "
NOTEBOOK_MARK = "# grader: notebook "

PRELUDE = '''\
{future}
import importlib.machinery as _grader_machinery
import sys as _grader_sys

_grader_notebook = {name!r}


class _GraderShell:
    """Stands in for IPython's shell: magics and shell commands do nothing when graded."""

    def system(self, *args, **kwargs):
        return None

    def getoutput(self, *args, **kwargs):
        return []

    def __getattr__(self, name):
        return _GraderReturns(None)


class _GraderReturns:
    """A callable that does nothing but return `value` (display(), get_ipython())."""

    def __init__(self, value):
        self.value = value

    def __call__(self, *args, **kwargs):
        return self.value


class _GraderSkipped:
    """Stands for what a skipped import or assignment would have given: using it raises why."""

    def __init__(self, error, message):
        object.__setattr__(self, "_grader_error", (error, message))

    def __getattr__(self, name):
        error, message = object.__getattribute__(self, "_grader_error")
        raise error(message)

    def __call__(self, *args, **kwargs):
        error, message = object.__getattribute__(self, "_grader_error")
        raise error(message)


class _GraderMissingModules:
    """Last on sys.meta_path: a module the notebook imports at top level that is not installed
    here (matplotlib, google.colab, otter...) loads as a stub whose attributes raise when used."""

    def __init__(self, names):
        self.names = set(names)

    def find_spec(self, fullname, path=None, target=None):
        if any(n == fullname or n.startswith(fullname + ".") for n in self.names):
            return _grader_machinery.ModuleSpec(fullname, self, is_package=True)
        return None

    def create_module(self, spec):
        return None

    def exec_module(self, module):
        name = module.__name__
        module.__path__ = []
        if name == "IPython" or name.startswith("IPython."):
            stand_in = _GraderReturns(None)  # display(), HTML()... only show things
        else:
            message = (f"module '{{name}}' is not installed where the grader runs; the import in "
                       f"{{_grader_notebook}} was skipped, so it cannot be used")
            stand_in = _GraderSkipped(ModuleNotFoundError, message)

        def attribute(attr):
            if attr.startswith("__"):  # tools that scan sys.modules (inspect) look for __file__ and the like
                raise AttributeError(attr)
            return stand_in

        module.__getattr__ = attribute
        if name in self.names and stand_in.__class__ is _GraderSkipped:
            print(f"grader: {{_grader_notebook}}: {{message}}", file=_grader_sys.stderr)


def _grader_value(make, count, names, cell, line):
    """An assignment the definitions use (DEVICE = torch.device(...)): its value, or placeholders that
    raise why when it fails at load (a missing data file should not sink a correct function)."""
    try:
        return make()
    except Exception as exc:
        why = f"{{type(exc).__name__}}: {{exc}}"[:300]
        print(f"grader: {{_grader_notebook}} cell {{cell}} line {{line}}: setting {{', '.join(names)}} failed "
              f"({{why}}); graded without it", file=_grader_sys.stderr)
        skipped = [_GraderSkipped(RuntimeError, f"{{n}} was not set: in {{_grader_notebook}} cell {{cell}} line "
                                  f"{{line}} it raised {{why}}") for n in names]
        return tuple(skipped) if count else skipped[0]


get_ipython = _GraderReturns(_GraderShell())
display = _GraderReturns(None)
'''

#: Added after the prelude in definitions mode, with the modules the notebook imports at top level.
MISSING_MODULES = "_grader_sys.meta_path.append(_GraderMissingModules({names!r}))"


class NotebookError(SubmissionError):
    """A notebook the grader cannot read: the student's result, with what to do."""


@dataclass
class CodeCell:
    number: int   #: position among all cells, from 1
    source: str


@dataclass
class Converted:
    """A notebook as the grader loads it."""

    source: str                                           #: the module's Python source
    files: dict[str, bytes] = field(default_factory=dict)  #: written by %%writefile, relative to the notebook
    notes: list[str] = field(default_factory=list)


# ---------------------------------------------------------------- reading

def read_cells(data: bytes, name: str) -> list[CodeCell]:
    """The code cells of a notebook (nbformat 3 or 4), or a NotebookError saying what is wrong."""
    import nbformat

    hint = "Save it again from Jupyter or Colab (File > Download .ipynb), or submit a .py file."
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise NotebookError(f"{name}: not a readable Jupyter notebook (not UTF-8 text)", hint) from None
    try:
        data = json.loads(text)
        if not isinstance(data, dict):
            raise NotebookError(f"{name}: not a readable Jupyter notebook (expected a JSON object with 'cells')", hint)
        if isinstance(data, dict) and "nbformat" not in data and "cells" in data:
            data = {**data, "nbformat": 4, "nbformat_minor": 0}  # hand-made or old tools: the v4 layout
        # nbformat's own reader and upgrader (nbformat 3 -> 4); not its schema validation, which
        # rewrites cell ids and warns: the checks below are what the grader relies on
        nb = nbformat.convert(nbformat.from_dict(data), 4)
    except NotebookError:
        raise
    except RecursionError:
        raise NotebookError(f"{name}: not a readable Jupyter notebook (its JSON is nested too deeply)", hint) from None
    except Exception as exc:  # noqa: BLE001 - nbformat on hostile input: anything it raises is the student's problem
        reason = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise NotebookError(f"{name}: not a readable Jupyter notebook ({reason})", hint) from None
    cells = nb.get("cells") if isinstance(nb, dict) else None
    if not isinstance(cells, list):
        raise NotebookError(f"{name}: not a readable Jupyter notebook ('cells' is not a list of cells)", hint)
    code_cells, total = [], 0
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict):
            raise NotebookError(f"{name}: cell {number} is not a notebook cell (expected a JSON object)", hint)
        if cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        if isinstance(source, list) and all(isinstance(part, str) for part in source):
            source = "".join(source)
        if not isinstance(source, str):
            raise NotebookError(f"{name}: cell {number}'s source is not text (expected a string or a list of strings)",
                                hint)
        total += len(source)
        if total > MAX_CODE_CHARS:
            raise NotebookError(f"{name}: more than {MAX_CODE_CHARS} characters of code in its code cells",
                                "Submit only your solution's code; keep data in files, not in code cells.")
        code_cells.append(CodeCell(number, source))
    return code_cells


# ---------------------------------------------------------------- IPython syntax

@dataclass
class _Cell:
    """One cell's code with IPython syntax turned into Python (same number of lines)."""

    number: int
    lines: list[str]
    magics: int = 0
    skipped_body: bool = False        #: a cell magic whose body is not Python
    writefile: tuple[str, str, bool] | None = None  #: (file name, text, append)


def _split_lines(text: str) -> list[str]:
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def _python_line_end(lines: list[str], start: int) -> int:
    """Index of the last physical line of the Python logical line that starts at lines[start]."""
    position = [start]

    def readline() -> str:
        index = position[0]
        if index >= len(lines):
            return ""
        position[0] += 1
        return (lines[index].lstrip() if index == start else lines[index]) + "\n"

    try:
        for token in tokenize.generate_tokens(readline):
            if token.type in (tokenize.NEWLINE, tokenize.ENDMARKER):
                return min(start + token.start[0] - 1, len(lines) - 1)
    except tokenize.TokenError:  # EOF inside brackets or a string: the rest of the cell is this line
        return len(lines) - 1
    except SyntaxError:  # something tokenize refuses: let the compiler say what
        return start
    return len(lines) - 1


def _magic_to_python(stripped: str) -> str | None:
    """The Python IPython would run for a logical line, or None when the line is plain Python."""
    if not stripped or stripped[0] == "#":
        return None
    if stripped[0] == "%":
        name, _, args = stripped.lstrip("%").partition(" ")
        return f"get_ipython().run_line_magic({name!r}, {args.strip()!r})"
    if stripped[0] == "!":
        if stripped.startswith("!!"):
            return f"get_ipython().getoutput({stripped[2:]!r})"
        return f"get_ipython().system({stripped[1:]!r})"
    match = _ASSIGN_MAGIC.fullmatch(stripped)
    if match:
        rest = match["rest"]
        if match["esc"] == "!":
            return f"{match['lhs']} = get_ipython().getoutput({rest!r})"
        name, _, args = rest.lstrip("%").partition(" ")
        return f"{match['lhs']} = get_ipython().run_line_magic({name!r}, {args.strip()!r})"
    match = _HELP.fullmatch(stripped)
    if match and "?" in stripped:
        return f"get_ipython().run_line_magic('pinfo', {match['name']!r})"
    return None


def transform_cell(number: int, text: str) -> _Cell:
    """A cell's code with IPython's syntax turned into calls on the get_ipython() stub."""
    lines = _split_lines(text)
    first = next((i for i, line in enumerate(lines) if line.strip()), None)
    if first is None:
        return _Cell(number, lines)
    indent = lines[first][: len(lines[first]) - len(lines[first].lstrip())]
    if indent:  # IPython drops the first line's indentation from every line that has it
        lines = [line[len(indent):] if line.startswith(indent) else line for line in lines]
    cell = _Cell(number, lines)
    if lines[first].startswith("%%"):
        head = lines[first][2:]
        magic, _, args = head.partition(" ")
        if magic in PYTHON_CELL_MAGICS:
            cell.lines[first] = ""
            cell.magics += 1
        else:
            body = "\n".join(lines[first + 1:]) + "\n"
            cell.lines = [""] * len(lines)
            cell.lines[first] = f"get_ipython().run_cell_magic({magic!r}, {args.strip()!r}, {body!r})"
            cell.skipped_body = True
            if magic == "writefile":
                words = args.split()
                append = any(w in ("-a", "--append") for w in words)
                names = [w for w in words if not w.startswith("-")]
                if names:
                    cell.writefile = (names[0].strip("'\""), body, append)
            return cell
    if not any(_magic_to_python(line.strip()) for line in lines):
        return cell  # no line could be a magic: nothing to find out (the common case, and fast)
    index = first
    while index < len(lines):
        line = lines[index]
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            index += 1
            continue
        python = _magic_to_python(stripped)
        if python is None:
            if not _OPENERS.intersection(line):  # nothing that can continue the line: no need to tokenize
                index += 1
                continue
            index = _python_line_end(lines, index) + 1
            continue
        end = index
        while lines[end].rstrip().endswith("\\") and end + 1 < len(lines):  # a magic continued with \
            end += 1
        if end > index:
            joined = " ".join(part.rstrip().rstrip("\\").strip() for part in lines[index:end + 1])
            python = _magic_to_python(joined) or python
        cell.lines[index] = line[: len(line) - len(line.lstrip())] + python
        for k in range(index + 1, end + 1):
            cell.lines[k] = ""
        cell.magics += 1
        index = end + 1
    return cell


# ---------------------------------------------------------------- definitions

@dataclass
class _Scan:
    """What one walk over a top-level statement finds."""

    loads: set[str] = field(default_factory=set)    #: global names it reads (anywhere, bodies included)
    modules: set[str] = field(default_factory=set)  #: modules it imports (anywhere)
    calls: bool = False  #: whether running the statement itself calls anything (bodies of def/lambda/class aside)


_DEFERRED = (ast.FunctionDef, ast.AsyncFunctionDef, ast.Lambda, ast.ClassDef)
_CALLS = (ast.Call, ast.Await, ast.Yield, ast.YieldFrom, ast.NamedExpr)


def _scan(node: ast.AST) -> _Scan:
    """One walk (the grader's parsing budget: a single pass per statement)."""
    found = _Scan()
    stack = [(node, False)]
    while stack:
        item, deferred = stack.pop()
        if isinstance(item, ast.Name):
            if isinstance(item.ctx, ast.Load):
                found.loads.add(item.id)
            continue
        if isinstance(item, ast.expr_context):
            continue
        if isinstance(item, _CALLS) and not deferred:
            found.calls = True
        elif isinstance(item, ast.Import):
            found.modules.update(alias.name for alias in item.names)
        elif isinstance(item, ast.ImportFrom) and item.module and not item.level:
            found.modules.add(item.module)
        deferred = deferred or isinstance(item, _DEFERRED)
        for name in item._fields:
            value = getattr(item, name, None)
            if isinstance(value, list):
                stack.extend((v, deferred) for v in value if isinstance(v, ast.AST))
            elif isinstance(value, ast.AST):
                stack.append((value, deferred))
    return found


def _assigned_names(node: ast.stmt) -> list[str] | None:
    """Names an Assign/AnnAssign binds, or None when it assigns to anything else (x.a, x[0])."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    names: list[str] = []

    def collect(target) -> bool:
        if isinstance(target, ast.Name):
            names.append(target.id)
            return True
        if isinstance(target, ast.Starred):
            return collect(target.value)
        if isinstance(target, (ast.Tuple, ast.List)):
            return all(collect(t) for t in target.elts)
        return False

    return names if all(collect(t) for t in targets) else None


def _is_definition(node: ast.stmt, scan: _Scan | None = None) -> bool:
    """Whether a top-level statement only defines things (kept as written; an import stays a plain
    import statement, so the forbidden-API check sees it, and a missing module loads as a stub)."""
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom, ast.Pass)):
        return True
    if isinstance(node, ast.Expr):
        return isinstance(node.value, ast.Constant)
    if isinstance(node, (ast.Assign, ast.AnnAssign)):
        value = node.value
        return _assigned_names(node) is not None and (value is None or not (scan or _scan(value)).calls)
    if isinstance(node, ast.If):  # e.g. if torch.cuda.is_available(): DEVICE = "cuda" else: ...
        return all(_is_definition(n) for n in node.body + node.orelse)
    if isinstance(node, ast.Try):  # e.g. try: import google.colab ... except ImportError: IN_COLAB = False
        handlers = [n for h in node.handlers for n in h.body]
        return all(_is_definition(n) for n in node.body + node.orelse + handlers + node.finalbody)
    return False


@dataclass
class _Parsed:
    cell: _Cell
    tree: ast.Module | None
    error: SyntaxError | None = None


def _segment(lines: list[str], node: ast.stmt) -> list[str]:
    """The source lines of a top-level statement (a compound one: its whole lines, decorators included)."""
    start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])])
    if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.If, ast.Try)):
        return lines[start - 1: node.end_lineno]
    text = lines[start - 1: node.end_lineno]
    if len(text) == 1:
        return [text[0][node.col_offset: node.end_col_offset]]
    return [text[0][node.col_offset:]] + text[1:-1] + [text[-1][: node.end_col_offset]]


def _tolerant_assignment(lines: list[str], node: ast.stmt, cell: int) -> list[str] | None:
    """`x = f(...)` as `x = _grader_value(lambda: (f(...)), ...)` on one line, or None for other targets."""
    targets = node.targets if isinstance(node, ast.Assign) else [node.target]
    if len(targets) != 1 or node.value is None:
        return None
    target = targets[0]
    if isinstance(target, ast.Name):
        count = 0
    elif isinstance(target, (ast.Tuple, ast.List)) and all(isinstance(t, ast.Name) for t in target.elts):
        count = len(target.elts)
    else:
        return None
    names = _assigned_names(node)
    annotation = f": {ast.unparse(node.annotation)}" if isinstance(node, ast.AnnAssign) else ""
    return [f"{ast.unparse(target)}{annotation} = _grader_value(lambda: ({ast.unparse(node.value)}), {count}, "
            f"{tuple(names)!r}, {cell}, {node.lineno})"]


def _definitions_code(parsed: list[_Parsed]) -> tuple[dict[int, list[str]], set[str], int]:
    """Each cell's lines with only its definitions (line numbers kept), the modules imported at top
    level, and how many other statements were left out."""
    kept: set[int] = set()      # id() of statements kept as written
    tolerant: set[int] = set()  # id() of assignments with calls that the definitions use
    needed: set[str] = set()
    modules: set[str] = set()
    candidates: list[tuple[ast.stmt, list[str], set[str]]] = []
    for item in parsed:
        for node in item.tree.body if item.tree else []:
            scan = _scan(node)
            if _is_definition(node, scan):
                kept.add(id(node))
                needed |= scan.loads
                modules |= scan.modules
            elif isinstance(node, (ast.Assign, ast.AnnAssign)) and _assigned_names(node):
                candidates.append((node, _assigned_names(node), scan.loads))
    grew = True
    while grew:  # an assignment with a call runs when a definition uses its name (DEVICE = torch.device(...))
        grew = False
        for node, names, loads in candidates:
            if id(node) not in tolerant and needed.intersection(names):
                tolerant.add(id(node))
                needed |= loads
                grew = True
    left_out = 0
    code: dict[int, list[str]] = {}
    for item in parsed:
        lines = item.cell.lines
        fragments: list[list[str]] = [[] for _ in lines]
        for node in item.tree.body if item.tree else []:
            if id(node) in kept:
                text = _segment(lines, node)
            elif id(node) in tolerant:
                text = _tolerant_assignment(lines, node, item.cell.number) or _segment(lines, node)
            else:
                if not isinstance(node, ast.Pass) and not (isinstance(node, ast.Expr)
                                                           and isinstance(node.value, ast.Constant)):
                    left_out += 1
                continue
            start = min([node.lineno] + [d.lineno for d in getattr(node, "decorator_list", [])]) - 1
            for k, part in enumerate(text):
                fragments[start + k].append(part)
        code[item.cell.number] = ["; ".join(parts) for parts in fragments]
    return code, modules, left_out


# ---------------------------------------------------------------- the module

def _printable(name: str) -> str:
    return "".join(ch if ch.isprintable() else "?" for ch in name)


def _hoist_future(cell: _Cell, tree: ast.Module | None, future: set[str]) -> None:
    """`from __future__ import ...` must come first in a module: it moves to the top."""
    for node in tree.body if tree else []:
        if isinstance(node, ast.ImportFrom) and node.module == "__future__":
            future.update(a.name for a in node.names)
            for k in range(node.lineno - 1, node.end_lineno):
                cell.lines[k] = "pass" if k == node.lineno - 1 else ""


def convert(data: bytes, name: str, mode: str = DEFAULT_MODE) -> Converted:
    """The module (and %%writefile files) a notebook stands for, in `mode` (definitions or run)."""
    if mode not in MODES:
        raise ValueError(f"notebook mode must be one of {MODES}, not {mode!r}")
    shown = _printable(name)
    cells = [transform_cell(c.number, c.source) for c in read_cells(data, name)]
    result = Converted(source="")
    parsed: list[_Parsed] = []
    future: set[str] = set()
    for cell in cells:
        try:
            tree = ast.parse("\n".join(cell.lines) + "\n")
        except (SyntaxError, ValueError) as exc:
            error = exc if isinstance(exc, SyntaxError) else SyntaxError(str(exc))
            parsed.append(_Parsed(cell, None, error))
            continue
        except (RecursionError, MemoryError):
            raise NotebookError(f"{name}: cell {cell.number} is too deeply nested to read") from None
        _hoist_future(cell, tree, future)
        parsed.append(_Parsed(cell, tree))
    if mode == "definitions":
        code, modules, left_out = _definitions_code(parsed)
    else:
        code, modules, left_out = {p.cell.number: p.cell.lines for p in parsed}, set(), 0
    future_line = f"from __future__ import {', '.join(sorted(future))}" if future else ""
    out = [f"{NOTEBOOK_MARK}{shown} ({mode}): made by the grader from the notebook's code cells",
           PRELUDE.format(future=future_line, name=shown)]
    if modules:
        out.append(MISSING_MODULES.format(names=sorted(modules)))
    for item in parsed:
        number = item.cell.number
        out.append(f"{CELL_MARK}{number}")
        if item.error is not None:
            line = max(1, min(item.error.lineno or 1, len(item.cell.lines) or 1))
            message = f"{(item.error.msg or 'invalid syntax')[:200]} (cell {number} line {line})"
            if mode == "run":
                out += [""] * (line - 1) + [f"raise SyntaxError({message!r})"]
            else:
                result.notes.append(f"{name}: cell {number} has a SyntaxError at line {line} "
                                    f"({(item.error.msg or 'invalid syntax')[:200]}); it was left out")
            continue
        out += code[number]
    result.source = "\n".join(out) + "\n"
    magics = sum(c.magics for c in cells if not c.skipped_body)
    if magics:
        result.notes.append(f"{name}: skipped {magics} IPython magic/shell line(s) (they do nothing when graded)")
    skipped_cells = sum(1 for c in cells if c.skipped_body and not c.writefile)
    if skipped_cells:
        result.notes.append(f"{name}: skipped {skipped_cells} cell(s) run by a cell magic such as %%bash "
                            "(their contents are not Python)")
    if left_out:
        result.notes.append(f"{name}: graded its definitions only (imports, functions, classes, constants); "
                            f"{left_out} other top-level statement(s) did not run (plots, training, data "
                            "loading). To run the whole notebook: --notebook run")
    for cell in cells:
        if cell.writefile is None:
            continue
        target, text, append = cell.writefile
        parts = target.split("/")
        if not _SAFE_FILE.fullmatch(target) or ".." in parts:
            result.notes.append(f"{name}: cell {cell.number}: %%writefile {_printable(target)[:100]} ignored "
                                "(only a plain relative file name such as helper.py is allowed)")
            continue
        before = result.files.get(target, b"") if append else b""
        result.files[target] = before + text.encode("utf-8", errors="surrogateescape")
    return result


def notebook_to_python(data: bytes, name: str, mode: str = DEFAULT_MODE) -> tuple[str, list[str]]:
    """(python source, notes) for a notebook's bytes (without its %%writefile files)."""
    converted = convert(data, name, mode)
    return converted.source, converted.notes


def locate(source: str, lineno: int) -> tuple[str, int] | None:
    """(notebook and cell, line in the cell) of a line of a module `convert` made, e.g.
    ("hw.ipynb cell 3", 2); None for any other source."""
    if not source.startswith(NOTEBOOK_MARK):
        return None
    lines = source.split("\n", lineno)[:lineno]
    notebook = lines[0][len(NOTEBOOK_MARK):].rsplit(" (", 1)[0]
    for index in range(len(lines) - 1, 0, -1):
        if lines[index].startswith(CELL_MARK):
            return f"{notebook} cell {lines[index][len(CELL_MARK):].strip()}", lineno - index - 1
    return None
