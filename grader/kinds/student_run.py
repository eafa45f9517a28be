"""What every kind that runs a student's code shares: the checks that stop a submission before
it runs, and the words for how a run went (its outcome, its bounded output, a hint for an error
with a well-known cause)."""
from __future__ import annotations

import dataclasses

from grader.problems.notebook import locate
from grader.problems.source import SourceCheck, check_sources, decode_source
from grader.problems.spec import Problem
from grader.problems.submission import Submission
from grader.sandbox.runner import RunStatus

#: A test's `outcome` for each way a child's call can fail.
RUN_OUTCOMES = {
    RunStatus.EXCEPTION: "exception", RunStatus.SIGNATURE: "signature", RunStatus.BAD_OUTPUT: "bad_output",
    RunStatus.TIMEOUT: "timeout", RunStatus.MEMORY: "memory", RunStatus.CPU: "cpu",
    RunStatus.CRASHED: "crashed", RunStatus.NOT_RUN: "not_run",
}


def static_error(problem: Problem, submission: Submission, module: str | None,
                 checked: SourceCheck | None = None) -> str | None:
    """What stops the submission before it runs: no file, a syntax error, a forbidden API, a source
    too big to check (grader/problems/source.py)."""
    if not any(name.endswith(".py") for name in submission.files):
        return f"{submission.label}: no Python file found; write {problem.signature} in a .py file"
    forbidden = problem.spec.get("forbidden", [])
    if checked is None:
        checked = check_sources(submission.files, problem.entry_point, forbidden)
    if checked.budget_error:
        return f"{submission.label}: {checked.budget_error}"
    if module is None:
        return (f"no file in {submission.label} defines {problem.entry_point}(); "
                f"the grader calls {problem.signature}")
    if module in checked.errors:  # only the entry module must parse; others fail when imported
        return checked.errors[module]
    if checked.uses:
        return forbidden_message([_in_cell(submission, use) for use in checked.uses])
    return None


def _in_cell(submission: Submission, use):
    """A use found in a notebook's module, named by its cell and line there."""
    if use.file not in submission.notebooks:
        return use
    where = locate(decode_source(submission.files[use.file]), use.line)
    return dataclasses.replace(use, file=where[0], line=where[1]) if where else use


def forbidden_message(uses: list, when: str = "") -> str:
    """The error for forbidden-API uses (anything with a `message()`), the first 10 shown."""
    lines = "\n".join(u.message() for u in uses[:10])
    return f"forbidden API used{when}; this problem scores 0 until it is removed:\n{lines}"


def bounded_output(text: str, dropped: int) -> str:
    """A child's stdout or stderr as kept (output_kb of it), saying how much more it wrote."""
    return text + (f"\n[... {dropped} more bytes not shown]" if dropped else "")


#: Errors whose cause students rarely see from the message alone: (text in the error, hint).
EXCEPTION_HINTS = [
    ("'float' object cannot be interpreted as an integer",
     "/ always gives a float in Python 3 (range(n / 2) fails); use // for integer division"),
    ("slice indices must be integers",
     "/ always gives a float in Python 3; use // for an index or a slice bound"),
    ("only integers, slices", "/ always gives a float in Python 3; use // for an index"),
    ("name 'xrange' is not defined", "xrange is Python 2; use range"),
    ("has no attribute 'iteritems'", "dict.iteritems() is Python 2; use .items()"),
    ("has no attribute 'has_key'", "dict.has_key(k) is Python 2; use k in d"),
]


def exception_hint(message: str) -> str:
    """A hint line for an error with a well-known cause (Python 2 idioms), or ""."""
    first = message.splitlines()[0] if message else ""
    for text, hint in EXCEPTION_HINTS:
        if text in first:
            return f"\nHint: {hint}."
    return ""
