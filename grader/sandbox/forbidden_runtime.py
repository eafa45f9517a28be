"""Watching a problem's forbidden APIs while the submission runs (in the child).

The static check (grader/problems/forbidden.py) reads the source; this catches what it cannot see, such as
`getattr(torch, "auto" + "grad").grad(...)`. Before the student's module loads, the child
replaces each forbidden API it can reach in an already imported library with a thin wrapper that
calls the original and, when the frame calling it is the student's code (not a library's, not
the grader's), notes the API and the student's file and line. The notes go back to the parent on
every later result frame (`"forbidden": [...]`, see grader/sandbox/child.py) and the problem scores 0 with
the line named, as for the static check.

What is wrapped, per entry of the spec's `forbidden:` list:
* a function (`torch.nn.functional.scaled_dot_product_attention`, `torch.gru_cell`,
  `numpy.linalg.inv`): the attribute itself;
* a module (`torch.autograd`, `torch.func`): the functions it exports (its `__all__`, or its
  public names), and those of its public submodules (`torch.autograd.functional.jacobian`);
* a class (`torch.nn.GRUCell`): its `__init__`, for instances of that very class or of the
  student's subclasses;
* a method entry (`Tensor.backward`): the method on `torch.Tensor`. `numpy.ndarray` is a
  built-in type whose methods cannot be replaced: those entries are checked statically only.

Only a direct call counts: a library function the problem allows that uses a forbidden one
inside (torch's own code calling `torch.batch_norm`) is not the student's use. Libraries
already imported when the child starts are watched from the start (torch, for torch problems
and in the fork server's template; numpy always); one the student's module imports itself
(sklearn) is watched from the first case on, through attribute look-ups only (a name the
module bound with `from ... import` while loading keeps the original).

This is a backstop, not a proof. It runs in the student's process, so a student can undo it
(restore the originals, reach the C functions underneath, clear the notes, or never send a
frame). The parent believes a note (it can only cost the student who sent it) and never takes
the absence of one as proof that nothing forbidden ran.
"""
from __future__ import annotations

import functools
import importlib
import os
import sys
import types
from dataclasses import dataclass


@dataclass(frozen=True)
class ForbiddenUse:
    """A forbidden API the student's code uses: found in its source (grader/problems/forbidden.py)
    or seen called here."""

    api: str  # the forbidden entry that matched, as written in the spec
    name: str  # what the code used, resolved, e.g. "torch.autograd.grad"
    file: str  # file name as given
    line: int  # 1-based
    col: int  # 0-based; for attributes, the column of the attribute name

    def message(self) -> str:
        return (
            f"{self.file} line {self.line}: uses {self.name}, "
            f"which this problem forbids ({self.api})"
        )


#: Notes kept per child (each names a distinct API and line).
MAX_NOTES = 20

_CLASS_NAMES = {"Tensor": "torch.Tensor", "ndarray": "numpy.ndarray"}


class Guard:
    """The notes of forbidden calls made by the student's code, and what tells that code apart."""

    def __init__(self, library_dirs: list[str]):
        real = {os.path.realpath(d) for d in library_dirs if d}
        self.library_dirs = tuple(os.path.join(d, "") for d in real if d != os.path.sep)
        self.notes: dict[tuple, dict] = {}
        #: (owner, name, what it held, whether it was the owner's own attribute): see `uninstall`
        self.replaced: list[tuple] = []

    def is_library(self, filename: str) -> bool:
        if filename.startswith("<frozen"):
            return True
        return filename.startswith(self.library_dirs) or os.path.realpath(filename).startswith(self.library_dirs)

    def note(self, api: str, name: str, frame) -> None:
        """Record a call of `name` (forbidden by `api`) if `frame`, its caller, is the student's."""
        if frame is None or self.is_library(frame.f_code.co_filename):
            return
        # Code built at run time (exec, eval) has no file: name the student's line that ran it.
        shown = frame
        while shown is not None and shown.f_code.co_filename.startswith("<"):
            shown = shown.f_back
        if shown is None or self.is_library(shown.f_code.co_filename):
            shown = frame
        key = (api, name, shown.f_code.co_filename, shown.f_lineno)
        if key not in self.notes and len(self.notes) < MAX_NOTES:
            self.notes[key] = {"api": api, "name": name, "file": os.path.basename(shown.f_code.co_filename),
                               "line": shown.f_lineno}

    def found(self) -> list[dict]:
        """Every note so far (each frame carries them all: a frame that is lost loses nothing)."""
        return list(self.notes.values())


def install(entries: list[str], guard: Guard | None = None) -> Guard | None:
    """Wrap every forbidden API that can be reached now (again after the student's module has
    loaded, with its guard: libraries it imported are watched from then on); None when nothing
    is forbidden."""
    entries = [e.strip() for e in entries if isinstance(e, str) and e.strip()]
    if not entries:
        return None
    guard = guard or Guard(library_dirs())
    for entry in entries:
        try:
            _wrap_entry(guard, entry)
        except Exception:  # noqa: BLE001 - an API this torch/numpy lacks cannot be used either
            continue
    return guard


def uninstall(guard: Guard | None) -> None:
    """Put back every original `install` replaced with this guard (a batch's worker, before the
    next problem, whose forbidden APIs differ and whose notes go to its own guard)."""
    if guard is None:
        return
    for owner, name, original, own in reversed(guard.replaced):
        try:
            if own:
                setattr(owner, name, original)
            else:
                delattr(owner, name)
        except (TypeError, AttributeError):
            pass
    guard.replaced.clear()


def _replace(guard: Guard, owner, name: str, watched) -> None:
    """Set `owner.name` to `watched`, noting what it held for `uninstall`."""
    own = not isinstance(owner, type) or name in owner.__dict__
    original = (owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)) if own else None
    setattr(owner, name, watched)
    guard.replaced.append((owner, name, original, own))


def library_dirs() -> list[str]:
    """Where code that is not the student's lives: the Python installation and the grader."""
    dirs = {sys.prefix, sys.base_prefix, sys.exec_prefix, os.path.dirname(os.__file__),
            os.path.dirname(os.path.abspath(__file__))}
    for name in ("torch", "numpy"):
        module = sys.modules.get(name)
        if module is not None and getattr(module, "__file__", None):
            dirs.add(os.path.dirname(os.path.dirname(module.__file__)))
    return sorted(dirs)


def _resolve(dotted: str):
    """The object a dotted name stands for, in a library already imported; None if unreachable."""
    parts = dotted.split(".")
    if parts[0] not in sys.modules:
        return None
    obj = sys.modules[parts[0]]
    for i, part in enumerate(parts[1:], start=2):
        try:
            obj = getattr(obj, part)
        except AttributeError:
            obj = importlib.import_module(".".join(parts[:i]))  # a submodule not imported by its package
    return obj


def _wrap_entry(guard: Guard, entry: str) -> None:
    parts = entry.split(".")
    cls_at = next((i for i, p in enumerate(parts[:-1]) if p in _CLASS_NAMES), None)
    if cls_at is not None:  # Tensor.backward, torch.Tensor.backward
        owner = _resolve(_CLASS_NAMES[parts[cls_at]])
        if owner is not None:
            _wrap_attribute(guard, owner, parts[-1], entry, f"{parts[cls_at]}.{parts[-1]}")
        return
    target = _resolve(entry)
    if target is None:
        return
    if isinstance(target, types.ModuleType):
        _wrap_module(guard, target, entry, depth=1)
    elif isinstance(target, type):
        _wrap_class(guard, target, entry)
    else:
        _wrap_attribute(guard, _resolve(".".join(parts[:-1])), parts[-1], entry, entry)


def _wrap_module(guard: Guard, module: types.ModuleType, api: str, depth: int) -> None:
    names = getattr(module, "__all__", None) or [n for n in vars(module) if not n.startswith("_")]
    for name in list(names):
        value = vars(module).get(name)
        if isinstance(value, types.ModuleType):
            continue
        if callable(value) and not isinstance(value, type):
            _wrap_attribute(guard, module, name, api, f"{module.__name__}.{name}")
    if depth > 0:
        for value in list(vars(module).values()):
            if isinstance(value, types.ModuleType) and value.__name__.startswith(module.__name__ + "."):
                if not value.__name__.rsplit(".", 1)[-1].startswith("_"):
                    _wrap_module(guard, value, api, depth - 1)


def _wrap_attribute(guard: Guard, owner, name: str, api: str, shown: str) -> None:
    original = owner.__dict__.get(name) if isinstance(owner, type) else getattr(owner, name, None)
    if original is None or getattr(original, "__grader_watched__", False):
        return
    if isinstance(original, (staticmethod, classmethod)) or not callable(original):
        return

    @functools.wraps(original)
    def watched(*args, **kwargs):
        guard.note(api, shown, sys._getframe(1))
        return original(*args, **kwargs)

    watched.__grader_watched__ = True
    try:
        _replace(guard, owner, name, watched)
    except (TypeError, AttributeError):
        pass  # a built-in type (numpy.ndarray): left to the static check


def _wrap_class(guard: Guard, cls: type, api: str) -> None:
    original = cls.__init__
    if getattr(original, "__grader_watched__", False):
        return
    top = cls.__module__.split(".")[0]

    @functools.wraps(original)
    def watched(self, *args, **kwargs):
        kind = type(self)
        if kind is cls or kind.__module__.split(".")[0] != top:  # the class itself, or the student's subclass
            guard.note(api, api, sys._getframe(1))
        return original(self, *args, **kwargs)

    watched.__grader_watched__ = True
    try:
        _replace(guard, cls, "__init__", watched)
    except (TypeError, AttributeError):
        pass
