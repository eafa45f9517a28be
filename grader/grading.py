"""The library entry points: grade a submission for a problem, from Python or the CLI."""
from __future__ import annotations

from pathlib import Path

from grader.problems.bank import Bank
from grader.errors import SubmissionError, UsageError
from grader.problems.inputs import seed_for_student
from grader.kinds import kind_of
from grader.limits import Limits
from grader.result import ProblemResult
from grader.sandbox.runner import Executor, SubprocessExecutor
from grader.problems.submission import Submission


def resolve_seed(seed: int | None = None, student: str | None = None) -> int:
    """`--seed` or `--student` (not both); 0 when neither is given."""
    if seed is not None and student is not None:
        raise UsageError("give either --seed or --student, not both")
    if student is not None:
        return seed_for_student(student)
    return int(seed) if seed is not None else 0


def grade(problem_id: str, submission: Submission | Path | str, *, bank: Bank | None = None,
          executor: Executor | None = None, seed: int | None = None, student: str | None = None,
          limits: Limits | None = None, notebook: str | None = None, **options) -> ProblemResult:
    """Grade `submission` (a path or a read Submission) for problem `problem_id`.

    `notebook`: how a notebook is read, "definitions" (default) or "run" (grader.problems.notebook).
    A submission that cannot be read as submitted (a malformed notebook) is a failed result."""
    bank = bank or Bank()
    problem = bank.get(problem_id)
    kind = kind_of(problem.kind)
    if not isinstance(submission, Submission):
        try:
            submission = kind.read_submission(problem.id, submission, notebook=notebook)
        except SubmissionError as exc:
            return ProblemResult.empty(problem, submission=str(submission), student=student,
                                       seed=resolve_seed(seed, student), error=str(exc))
    return kind.grade(problem, submission, bank=bank, executor=executor or SubprocessExecutor(),
                      seed=resolve_seed(seed, student), limits=limits, student=student, **options)
