"""Where the bank and the grader's cache are, and which folders a child must never see (known without loading the bank)."""
from __future__ import annotations

import difflib
import os
from pathlib import Path

from grader.errors import SpecError, UnknownProblem
from grader.sandbox.lru import LRUCache

BANK_ENV = "GRADER_BANK"
CACHE_ENV = "GRADER_CACHE_DIR"


def private_paths(root: Path | str | None = None) -> list[str]:
    """The folders of the default bank (GRADER_BANK's, and `root`'s) that a child must never see:
    reference implementations and problem specs; and the grader's cache, which holds expected
    outputs. Jobs carry them to the sandbox (`Job.hide`).

    Resolving them costs system calls on every job of a class, so the answer is kept per process
    for what it depends on: `root`, the environment variables read here and the current folder
    (a few entries: a long-running service sees few settings)."""
    key = (str(root) if root else None, os.getcwd(),
           *(os.environ.get(name) for name in (BANK_ENV, CACHE_ENV, "XDG_CACHE_HOME", "HOME")))
    found = _private.get(key)
    if found is None:
        roots = {default_bank_root(), *([Path(root)] if root else [])}
        if os.environ.get(BANK_ENV):
            roots.add(Path(os.environ[BANK_ENV]))
        found = sorted([str(Path(root, d).resolve()) for root in roots for d in ("reference", "problems")]
                       + [str(cache_folder())])
        _private.put(key, found)
    return list(found)


_private = LRUCache(max_items=32)  #: private_paths' answers by what they depend on


def cache_folder() -> Path:
    """Where the grader keeps what it computed once (grader.problems.expected_cache): GRADER_CACHE_DIR,
    else $XDG_CACHE_HOME/grader, else ~/.cache/grader."""
    configured = os.environ.get(CACHE_ENV)
    if configured:
        return Path(configured).expanduser().resolve()
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base, "grader").resolve()


def default_bank_root() -> Path:
    """GRADER_BANK, else the checkout this package lives in, else the current folder."""
    if os.environ.get(BANK_ENV):
        return Path(os.environ[BANK_ENV]).resolve()
    bundled = Path(__file__).resolve().parents[2]
    if (bundled / "problems").is_dir():
        return bundled
    return Path.cwd()


def spec_paths(bank_root: Path) -> dict[str, Path]:
    """Problem id -> spec file under `bank_root`/problems. Ids are file stems; each spec's `id` must
    match its file name (grader.problems.bank checks it when it loads one)."""
    paths: dict[str, Path] = {}
    for path in sorted((bank_root / "problems").rglob("*.yaml")):
        if path.stem in paths:
            raise SpecError(f"problem id '{path.stem}' is defined twice: {paths[path.stem]} and {path}")
        paths[path.stem] = path
    return paths


def unknown_problem(bank_root: Path, problem_id: str, ids: list[str]) -> UnknownProblem:
    """The error for an id that is not in the bank, with the ids it may have meant."""
    typed = problem_id.lower()
    close = difflib.get_close_matches(typed, ids, n=5, cutoff=0.7)  # typos: best first
    words = [w for w in typed.split("-") if len(w) >= 4]  # 'adam' -> adam-step, not 'no' -> normalize
    close += [i for i in ids if i not in close and any(w in i for w in words)]
    close = close[:5]
    hint = f"Did you mean: {', '.join(close)}? " if close else ""
    return UnknownProblem(f"no problem '{problem_id}' in the bank at {bank_root}", f"{hint}Try 'grader list'.")
