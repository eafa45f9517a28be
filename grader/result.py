"""Result records: what grading produced, as plain data. Renderers only read these.

Words used consistently: `max_score` is what a test or problem is worth, `score` what was
earned; `status` is `passed` or `failed` (a contract of `grader check --json`).
"""
from __future__ import annotations

import enum
import math
from dataclasses import asdict, dataclass, field

from grader.errors import ExitCode
from grader.sandbox.values import map_leaves


class Status(str, enum.Enum):
    PASSED = "passed"
    FAILED = "failed"
    SKIPPED = "skipped"  #: only in ProblemResult.skipped: not run here (a CUDA case without a GPU)


@dataclass
class TestResult:
    """One test: usually one case of a problem on one device."""

    name: str
    score: float
    max_score: float
    status: Status
    output: str = ""               #: feedback for the student
    visible: bool = True           #: hidden tests are graded but their inputs are not shown
    device: str | None = None
    seconds: float | None = None
    outcome: str = ""              #: finer reason: passed, wrong, slow, exception, timeout, memory, ...
    mistake: str | None = None     #: the known mistake the output matched
    #: a speed test's times: seconds, median, runs, reference_seconds, reference_runs, ratio, max_ratio, device
    timing: dict | None = None
    #: a training test's score: metric name, value, full, zero, heldout (points), cpu_seconds, cpu_budget
    metric: dict | None = None

    @property
    def passed(self) -> bool:
        return self.status is Status.PASSED


@dataclass
class ProblemResult:
    """The grade of one submission for one problem."""

    problem: str
    title: str
    score: float
    max_score: float
    tests: list[TestResult]
    kind: str = "function"
    submission: str | None = None
    seed: int | None = None
    student: str | None = None
    error: str | None = None       #: why nothing could run (syntax error, missing function, forbidden API)
    grader_error: bool = False     #: the grader failed, not the student: tell course staff
    feedback: list[str] = field(default_factory=list)  #: problem-level notes (mistakes, hints)
    stdout: str = ""
    stderr: str = ""
    seconds: float = 0.0
    limits_hit: list[str] = field(default_factory=list)
    skipped: list[TestResult] = field(default_factory=list)  #: cases not run here, with the reason
    #: the protections student code ran under: full, weak (--allow-weak-sandbox) or off (see grader.sandbox.confine.level)
    sandbox: str = field(default_factory=lambda: _sandbox_level())
    #: checked from a student bundle: the tests only the course grades, {"tests", "max_score", "speed_tests", "note"}
    graded_at_submission: dict | None = None

    @classmethod
    def empty(cls, problem, *, max_score: float | None = None, **fields) -> "ProblemResult":
        """A problem's result before anything is earned; with `error`, the result of a submission
        where nothing could run. `problem`: anything with id, title, points and kind."""
        return cls(problem=problem.id, title=problem.title, score=0.0,
                   max_score=problem.points if max_score is None else max_score,
                   tests=fields.pop("tests", []), kind=problem.kind, **fields)

    @property
    def passed(self) -> bool:
        return not self.error and all(t.passed for t in self.tests) and bool(self.tests)

    def to_dict(self) -> dict:
        """The `--json` shape: problem, score, max_score, tests[{name, score, max_score, status, output}]..."""
        data = asdict(self)
        data["status"] = Status.PASSED.value if self.passed else Status.FAILED.value
        if data.get("graded_at_submission") is None:
            data.pop("graded_at_submission", None)  # only a check against a student bundle says what it left out
        for test in data["tests"] + data["skipped"]:
            test["status"] = Status(test["status"]).value
            if test.get("metric") is None:
                test.pop("metric", None)  # only a training test has a metric
        data, replaced = json_safe(data)
        if replaced:
            data["non_finite"] = replaced  # where a number was inf or NaN (now null): say so
        return data


class ProblemResults:
    """What a student's results over several problems share (an assignment, a quiz)."""

    problems: list[ProblemResult]

    @property
    def passed(self) -> bool:
        return all(p.passed for p in self.problems)

    @property
    def grader_error(self) -> bool:
        return any(p.grader_error for p in self.problems)


@dataclass
class StudentResult(ProblemResults):
    """One student's results over an assignment (a class run; students/<student>.json)."""

    student: str
    path: str
    problems: list[ProblemResult]

    @property
    def score(self) -> float:
        return round(sum(p.score for p in self.problems), 9)

    @property
    def max_score(self) -> float:
        return round(sum(p.max_score for p in self.problems), 9)

    @property
    def seconds(self) -> float:
        return sum(p.seconds for p in self.problems)

    def to_dict(self) -> dict:
        """The per-student JSON: totals, then each problem exactly as `grader check --json` prints it."""
        return {"student": self.student, "submission": self.path, "score": self.score,
                "max_score": self.max_score, "problems": [p.to_dict() for p in self.problems]}


@dataclass
class QuizResult(ProblemResults):
    """The grade of one student's quiz: one ProblemResult per problem, scaled to the quiz points."""

    quiz: str
    title: str
    score: float
    max_score: float
    problems: list[ProblemResult]
    seed: int | None = None
    student: str | None = None
    notes: list[str] = field(default_factory=list)

    def to_dict(self) -> dict:
        return {"quiz": self.quiz, "title": self.title, "score": self.score, "max_score": self.max_score,
                "status": Status.PASSED.value if self.passed else Status.FAILED.value, "seed": self.seed,
                "student": self.student, "notes": list(self.notes), "problems": [p.to_dict() for p in self.problems]}


def json_safe(data, path: str = "$") -> tuple[object, list[str]]:
    """`data` ready for strict JSON: non-finite floats become None, lone surrogates (from a file
    name that is not UTF-8, or a student's message) become the text `\\udcff`. Returns the new
    data and the paths of the numbers it replaced (JSON has no inf or NaN; a consumer may reject them)."""
    replaced: list[str] = []

    def leaf(value, where: str):
        if isinstance(value, float) and not math.isfinite(value):
            replaced.append(where)
            return None
        if isinstance(value, str):
            return _no_surrogates(value)
        return value

    return map_leaves(data, leaf, path, key=lambda k: _no_surrogates(str(k))), replaced


def _no_surrogates(text: str) -> str:
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _sandbox_level() -> str:
    from grader.sandbox.confine import level

    return level()


def split_points(points: float, weights: list[float]) -> list[float]:
    """Each case's max_score: the problem's points shared out by weight."""
    total = sum(weights)
    return [points * w / total for w in weights] if total else [0.0 for _ in weights]


# ---------------------------------------------------------------- validation (grader validate)

@dataclass
class Check:
    name: str        #: spec, statement, reference, mistakes, inputs, starter
    ok: bool
    message: str = ""
    skipped: bool = False


@dataclass
class MistakeResult:
    name: str
    killed_by: list[str]           #: hidden cases it fails
    recognised: bool               #: named as itself on a case it fails


@dataclass
class ProblemReport:
    problem: str
    path: str
    kind: str = ""
    checks: list[Check] = field(default_factory=list)
    mistakes: list[MistakeResult] = field(default_factory=list)
    malformed: bool = False
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.malformed and all(c.ok for c in self.checks)

    @property
    def killed(self) -> int:
        return sum(1 for m in self.mistakes if m.killed_by)

    def failures(self) -> list[str]:
        return [f"{c.name}: {c.message}" for c in self.checks if not c.ok]

    def add(self, name: str, ok: bool, message: str = "", skipped: bool = False) -> None:
        self.checks.append(Check(name, ok, message, skipped))


@dataclass
class ValidationReport:
    problems: list[ProblemReport]
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return all(p.ok for p in self.problems)

    @property
    def malformed(self) -> bool:
        return any(p.malformed for p in self.problems)

    @property
    def mistakes_total(self) -> int:
        return sum(len(p.mistakes) for p in self.problems)

    @property
    def mistakes_killed(self) -> int:
        return sum(p.killed for p in self.problems)

    @property
    def kill_rate(self) -> float:
        return self.mistakes_killed / self.mistakes_total if self.mistakes_total else 1.0

    @property
    def exit_code(self) -> ExitCode:
        if self.malformed:
            return ExitCode.USAGE_ERROR
        return ExitCode.OK if self.ok else ExitCode.TESTS_FAILED

    def to_dict(self) -> dict:
        return {"ok": self.ok, "exit_code": int(self.exit_code), "mistakes_total": self.mistakes_total,
                "mistakes_killed": self.mistakes_killed, "kill_rate": self.kill_rate, "seconds": self.seconds,
                "problems": [{**asdict(p), "ok": p.ok, "killed": p.killed} for p in self.problems]}
