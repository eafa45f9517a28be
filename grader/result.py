"""Result records: what grading produced, as plain data. Renderers only read these.

Words used consistently: `max_score` is what a test or problem is worth, `score` what was
earned; `status` is `passed` or `failed` (a contract of `grader check --json`).
"""
from __future__ import annotations

import enum
import math
from dataclasses import asdict, dataclass, field


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
    #: the protections student code ran under: full, weak (--allow-weak-sandbox) or off (see grader.sandbox.level)
    sandbox: str = field(default_factory=lambda: _sandbox_level())
    #: checked from a student bundle: the tests only the course grades, {"tests", "max_score", "speed_tests", "note"}
    graded_at_submission: dict | None = None

    @property
    def passed(self) -> bool:
        return not self.error and all(t.passed for t in self.tests) and bool(self.tests)

    def to_dict(self) -> dict:
        """The `--json` shape: problem, score, max_score, tests[{name, score, max_score, status, output}]..."""
        data = asdict(self)
        data["status"] = Status.PASSED.value if self.passed else Status.FAILED.value
        for test in data["tests"] + data["skipped"]:
            test["status"] = Status(test["status"]).value
        data, replaced = json_safe(data)
        if replaced:
            data["non_finite"] = replaced  # where a number was inf or NaN (now null): say so
        return data


def json_safe(data, path: str = "$") -> tuple[object, list[str]]:
    """`data` ready for strict JSON: non-finite floats become None, lone surrogates (from a file
    name that is not UTF-8, or a student's message) become the text `\\udcff`. Returns the new
    data and the paths of the numbers it replaced (JSON has no inf or NaN; a consumer may reject them)."""
    replaced: list[str] = []

    def walk(value, where: str):
        if isinstance(value, float) and not math.isfinite(value):
            replaced.append(where)
            return None
        if isinstance(value, str):
            return _no_surrogates(value)
        if isinstance(value, dict):
            return {_no_surrogates(str(k)): walk(v, f"{where}.{k}") for k, v in value.items()}
        if isinstance(value, (list, tuple)):
            return [walk(v, f"{where}[{i}]") for i, v in enumerate(value)]
        return value

    return walk(data, path), replaced


def _no_surrogates(text: str) -> str:
    try:
        text.encode("utf-8")
        return text
    except UnicodeEncodeError:
        return text.encode("utf-8", "backslashreplace").decode("utf-8")


def _sandbox_level() -> str:
    from .sandbox import level

    return level()


def split_points(points: float, weights: list[float]) -> list[float]:
    """Each case's max_score: the problem's points shared out by weight."""
    total = sum(weights)
    return [points * w / total for w in weights] if total else [0.0 for _ in weights]
