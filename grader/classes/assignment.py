"""An assignment: which problems of the bank, their points, files and seeds (examples/assignment.yaml)."""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from grader.errors import GraderError, SpecError, UsageError
from grader.kinds import kind_of
from grader.problems.bank import Bank
from grader.problems.inputs import seed_for_student
from grader.problems.spec import Problem, load_schema, read_yaml, schema_errors
from grader.problems.submission import CODE_PATTERNS

ASSIGNMENT_SCHEMA = "assignment.schema.json"


@dataclass
class AssignmentProblem:
    id: str
    problem: Problem           #: the bank's problem, with the assignment's points applied
    file: str | None = None    #: the student's file to look in first


@dataclass
class Assignment:
    name: str
    problems: list[AssignmentProblem]
    path: Path | None = None
    seed: int | str = 0        #: a number, or "per-student"
    limits: dict = field(default_factory=dict)
    gradescope: dict = field(default_factory=dict)
    files: tuple[str, ...] = CODE_PATTERNS  #: which files of a student's folder form the submission
    notebook: str = "definitions"  #: how notebooks are read: definitions or run (grader.problems.notebook)

    @property
    def max_score(self) -> float:
        return sum(p.problem.points for p in self.problems)

    def seed_for(self, student: str) -> int:
        return seed_for_student(student) if self.seed == "per-student" else int(self.seed)


def parse_assignment(data, path: Path, bank: Bank) -> Assignment:
    """Validate assignment data against its schema and the bank; errors name the file and field."""
    if not isinstance(data, dict):
        raise SpecError(f"{path}: an assignment must be a YAML mapping (name: ..., problems: [...]), "
                        f"got {type(data).__name__}")
    errors = schema_errors(data, load_schema(ASSIGNMENT_SCHEMA))
    if errors:
        shown = "\n".join(f"  {line}" for line in errors[:10])
        raise SpecError(f"{path}: invalid assignment:\n{shown}", "See docs/batch.md for the assignment format.")
    problems, seen = [], set()
    for i, entry in enumerate(data["problems"]):
        entry = {"id": entry} if isinstance(entry, str) else entry
        where = f"{path}: $.problems[{i}]"
        if entry["id"] in seen:
            raise SpecError(f"{where}: problem '{entry['id']}' is listed twice")
        seen.add(entry["id"])
        try:
            problem = bank.get(entry["id"])
        except GraderError as exc:
            raise SpecError(f"{where}: {exc.message}", exc.hint) from None
        kind_of(problem.kind)  # a kind this version cannot grade is a spec error, now
        if "points" in entry:
            problem = dataclasses.replace(problem, points=float(entry["points"]))
        problems.append(AssignmentProblem(entry["id"], problem, entry.get("file")))
    return Assignment(name=data["name"], problems=problems, path=path, seed=data.get("seed", 0),
                      limits=dict(data.get("limits", {})), gradescope=dict(data.get("gradescope", {})),
                      files=tuple(data.get("files", CODE_PATTERNS)), notebook=data.get("notebook", "definitions"))


def load_assignment(path: Path | str, bank: Bank) -> Assignment:
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such assignment file", "Give --assignment the path of an assignment YAML file.")
    return parse_assignment(read_yaml(path, "assignment"), path, bank)
