"""The assignments a service takes submissions for, and each one's `service:` policy."""
from __future__ import annotations

import datetime as dt
import time
from dataclasses import dataclass
from pathlib import Path

from grader.problems.bank import Bank
from grader.classes.assignment import Assignment, load_assignment
from grader.errors import SpecError, UsageError
from grader.problems.spec import read_yaml

HIDDEN_VIEWS = ("full", "status", "count")


@dataclass
class Policy:
    deadline: float | None = None          #: epoch seconds; submissions after it are refused
    hidden_before_deadline: str = "status"
    hidden_after_deadline: str = "full"
    rate_submissions: int = 20
    rate_window: float = 3600.0            #: seconds
    max_upload_bytes: int = 1024 * 1024
    max_files: int = 20

    def open(self, now: float | None = None) -> bool:
        return self.deadline is None or (now or time.time()) <= self.deadline

    def hidden_view(self, now: float | None = None) -> str:
        return self.hidden_before_deadline if self.open(now) else self.hidden_after_deadline


@dataclass
class CourseAssignment:
    assignment: Assignment
    policy: Policy

    @property
    def name(self) -> str:
        return self.assignment.name


def parse_policy(data: dict, path: Path) -> Policy:
    """The `service:` block (already checked against the assignment schema)."""
    policy = Policy()
    if "deadline" in data:
        text = str(data["deadline"])
        try:
            when = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
        except ValueError:
            raise SpecError(f"{path}: $.service.deadline: {text!r} is not an ISO 8601 time",
                            'Write it like "2026-12-15T23:59:00+00:00" (quoted).') from None
        if when.tzinfo is None:
            raise SpecError(f"{path}: $.service.deadline: {text!r} has no timezone",
                            'Add one, e.g. "2026-12-15T23:59:00+00:00" or "...-05:00".')
        policy.deadline = when.timestamp()
    policy.hidden_before_deadline = data.get("hidden_before_deadline", policy.hidden_before_deadline)
    policy.hidden_after_deadline = data.get("hidden_after_deadline", policy.hidden_after_deadline)
    if "rate_limit" in data:
        policy.rate_submissions = int(data["rate_limit"]["submissions"])
        policy.rate_window = float(data["rate_limit"]["per_minutes"]) * 60
    policy.max_upload_bytes = int(data.get("max_upload_kb", 1024)) * 1024
    policy.max_files = int(data.get("max_files", policy.max_files))
    return policy


def load_course(paths: list[Path], bank: Bank) -> dict[str, CourseAssignment]:
    """The assignments by name; two with one name are refused (the name is what students submit to)."""
    if not paths:
        raise UsageError("no assignment given", "Pass --assignment A.yaml (once per assignment).")
    course: dict[str, CourseAssignment] = {}
    for path in paths:
        path = Path(path)
        assignment = load_assignment(path, bank)  # validates the schema, the service block included
        data = read_yaml(path, "assignment")
        if assignment.name in course:
            raise UsageError(f"{path}: assignment name {assignment.name!r} is also the name of "
                             f"{course[assignment.name].assignment.path}", "Give each assignment its own name.")
        course[assignment.name] = CourseAssignment(assignment, parse_policy(data.get("service") or {}, path))
    return course
