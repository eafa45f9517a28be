"""The Kind interface: everything the rest of grader needs to know about a kind of problem.

A new kind is one module defining a `Kind` subclass and one line registering it in
grader/kinds/__init__.py. Nothing outside grader/kinds/ compares a kind with a name."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from grader.errors import UsageError

#: the seeds `grader validate` draws every problem for (inputs reproducible, different per seed)
VALIDATION_SEEDS = (0, 1)


class Kind:
    """One kind of problem. Subclasses override what differs; the defaults fit code problems."""

    name = ""
    #: the student answers with code (a file, folder or notebook), not in an answers file
    answered_in_code = True
    #: what `grader new --kind NAME` writes (grader/authoring/templates/NAME.yaml)
    scaffold_template = ""
    #: how `grader release` puts such a problem in a student bundle: "cases" (its visible cases with
    #: their expected outputs), "question" (what `grader show` prints), or None (not yet)
    release_as: str | None = None
    #: its children train models (build torch optimizers): `grader validate` warms its template for them
    trains_models = False

    def check_spec(self, problem) -> list[str]:
        """Rules the JSON Schema cannot express, as '$.path: message' lines (run when a spec loads)."""
        return []

    def read_submission(self, problem_id: str, path: Path | str, notebook: str | None = None) -> Any:
        """What `grade` takes from a path: the student's files."""
        from grader.problems.submission import read_submission

        return read_submission(path, notebook=notebook)

    def prepare(self, problem, bank, seed: int, device: str = "all") -> Any:
        """Work shared by every submission graded with the same seed (a class run keeps it), or None."""
        return None

    def save_prepared(self, prepared) -> None:
        """Keep on disk what grading with `prepared` (from `prepare`) computed that the next run
        can reuse. A class run calls it once, at its end. Nothing to keep by default."""

    def grade(self, problem, submission, **options):
        """Grade one submission: a ProblemResult (grader/result.py)."""
        raise NotImplementedError

    def describe(self, problem, seed: int, student: str | None, bank) -> dict:
        """Extra fields `grader show` prints for this kind."""
        return {}

    def validate(self, problem, bank, executor, report) -> None:
        """`grader validate`'s checks beyond the spec: add them to `report` (a ProblemReport)."""

    def data_folders(self, problem) -> list[Path]:
        """Folders of files that grading reads besides the spec and the reference sources: their
        contents are part of a class run's cache key, so an edited data file regrades the class."""
        return []

    def case_named(self, problem, name: str) -> dict:
        """A case by name, for `grader show --case` and `grader.case_inputs`."""
        raise UsageError(f"'{problem.id}' is a {problem.kind} question; it has no cases")

    def case_inputs(self, problem, case_name: str, seed: int, bank) -> dict:
        """A case's inputs by name, as the student's code gets them (`grader.case_inputs`)."""
        from grader.problems.inputs import case_arguments

        return {a.name: a.value for a in case_arguments(problem, self.case_named(problem, case_name), seed)}

    def case_code(self, problem, case_name: str, seed: int, student: str | None, bank) -> str | None:
        """All of `grader show --case`'s code, for a kind whose cases are more than inputs and a
        call (None: the inputs, then `case_call_lines`)."""
        return None

    def case_call_lines(self, problem, args) -> list[str]:
        """The end of `grader show --case`'s code: the call of the student's code on the inputs."""
        call = ", ".join(f"{a.name}={a.name}" if a.keyword else a.name for a in args)
        return ["", f"result = {problem.entry_point}({call})", "print(result)"]

    def typed_answer_error(self, problem, text: str, bank, seed: int) -> str | None:
        """Why an answer typed in `grader quiz` cannot be used (None when it can)."""
        if not Path(text).expanduser().is_file():
            return f"no file '{text}'"
        return None
