"""Grading a whole class: an assignment, a folder of submissions, a pool of workers, a gradebook.

    assignment = load_assignment("assignment.yaml", bank)
    students = find_students("submissions/")
    with LocalPool(jobs=4) as pool:
        report = grade_class(assignment, students, bank=bank, pool=pool, cache=ResultCache("out/.cache"))

The trusted process prepares each problem's cases once (inputs and expected outputs; per student
when the assignment asks for per-student variants), then hands one job per student x problem to
a pool. The local pool runs N worker threads over one warm fork server: each thread forks a
child for its job and compares what comes back, so the children do the heavy work on every core
while the comparisons stay in the trusted process. A pool only has to `map` a function over
tasks and yield the results as they finish, so a distributed engine can replace it.

Anything a student's code does is a result; only the grader's own failure is marked
`grader_error` (and is never cached).
"""
from __future__ import annotations

import dataclasses
import os
import threading
import time
import traceback
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterable, Iterator, Protocol

from .bank import Bank
from .cache import ResultCache, engine_version, job_id, reference_digest, result_from_dict
from .errors import GraderError, SpecError, UsageError
from .inputs import seed_for_student
from .kinds import grader_for
from .limits import Limits
from .result import ProblemResult, Status, TestResult, split_points
from .spec import Problem, read_yaml, schema_errors, load_schema
from .submission import Submission, read_submission

ASSIGNMENT_SCHEMA = "assignment.schema.json"


# ---------------------------------------------------------------- the assignment

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
        grader_for(problem.kind)  # a kind this version cannot grade is a spec error, now
        if "points" in entry:
            problem = dataclasses.replace(problem, points=float(entry["points"]))
        problems.append(AssignmentProblem(entry["id"], problem, entry.get("file")))
    return Assignment(name=data["name"], problems=problems, path=path, seed=data.get("seed", 0),
                      limits=dict(data.get("limits", {})), gradescope=dict(data.get("gradescope", {})))


def load_assignment(path: Path | str, bank: Bank) -> Assignment:
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such assignment file", "Give --assignment the path of an assignment YAML file.")
    return parse_assignment(read_yaml(path, "assignment"), path, bank)


# ---------------------------------------------------------------- the class

@dataclass
class StudentEntry:
    student: str
    path: Path


def find_students(folder: Path | str) -> list[StudentEntry]:
    """One entry per student: a folder (any files) or a single .py/.ipynb file; its stem is the id."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder of submissions",
                         "Give a folder holding one folder or .py/.ipynb file per student "
                         "(or pass --single to grade one submission).")
    entries: dict[str, StudentEntry] = {}
    for item in sorted(folder.iterdir()):
        if item.name.startswith((".", "_")) or item.is_symlink():
            continue
        if item.is_dir() or (item.is_file() and item.suffix in (".py", ".ipynb")):
            student = item.stem if item.is_file() else item.name
            if student in entries:
                raise UsageError(f"{folder}: two submissions for student '{student}': "
                                 f"{entries[student].path.name} and {item.name}",
                                 "Keep one entry per student.")
            entries[student] = StudentEntry(student, item)
    if not entries:
        raise UsageError(f"{folder}: no submissions found (expected folders or .py/.ipynb files)")
    return list(entries.values())


# ---------------------------------------------------------------- results

@dataclass
class StudentResult:
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

    @property
    def grader_error(self) -> bool:
        return any(p.grader_error for p in self.problems)

    def to_dict(self) -> dict:
        """The per-student JSON: totals, then each problem exactly as `grader check --json` prints it."""
        return {"student": self.student, "submission": self.path, "score": self.score,
                "max_score": self.max_score, "problems": [p.to_dict() for p in self.problems]}


@dataclass
class ClassReport:
    assignment: Assignment
    students: list[StudentResult]
    wall: float = 0.0
    graded: int = 0            #: problem-submissions graded in this run
    cached: int = 0            #: problem-submissions taken from the cache
    jobs: int = 1

    @property
    def grader_errors(self) -> list[tuple[str, ProblemResult]]:
        return [(s.student, p) for s in self.students for p in s.problems if p.grader_error]


# ---------------------------------------------------------------- the pool

class Pool(Protocol):
    """Runs tasks and yields (task, result) as each finishes. The local pool is one; Ray could be another."""

    jobs: int

    def map_unordered(self, fn: Callable, tasks: Iterable) -> Iterator[tuple]: ...


def default_jobs() -> int:
    """Two worker slots per core. A sandboxed child spends about two thirds of its life off the CPU
    (namespace and cgroup set-up and tear-down; see docs/benchmarks.md), so one slot per core
    leaves the cores idle; two per core measured 1.5 to 2x the throughput on a 2-core machine."""
    return 2 * (os.cpu_count() or 1)


class LocalPool:
    """N worker threads; each one's job runs in a child forked from a warm template (the executor)."""

    def __init__(self, jobs: int | None = None):
        self.jobs = max(1, jobs or default_jobs())
        self._threads = ThreadPoolExecutor(max_workers=self.jobs, thread_name_prefix="grader-worker")

    def map_unordered(self, fn: Callable, tasks: Iterable) -> Iterator[tuple]:
        tasks = iter(tasks)
        pending = {}
        # Keep a bounded number of tasks in flight: memory stays flat for any class size.
        for task in tasks:
            pending[self._threads.submit(fn, task)] = task
            if len(pending) >= 2 * self.jobs:
                break
        while pending:
            done, _ = wait(pending, return_when=FIRST_COMPLETED)
            for future in done:
                task = pending.pop(future)
                yield task, future.result()
                nxt = next(tasks, None)
                if nxt is not None:
                    pending[self._threads.submit(fn, nxt)] = nxt

    def close(self) -> None:
        self._threads.shutdown(wait=True, cancel_futures=True)

    def __enter__(self) -> "LocalPool":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


# ---------------------------------------------------------------- grading

@dataclass
class Task:
    """One student x problem: plain data, the unit a pool schedules."""

    student: str
    index: int                 #: position of the problem in the assignment
    job: str                   #: the content-hash job id
    seed: int


def _failed_result(problem: Problem, student: str, label: str, seed: int, message: str,
                   grader_error: bool = False) -> ProblemResult:
    """A result where nothing could run: every case 0 with the reason."""
    cases = problem.cases
    max_scores = split_points(problem.points, [float(c.get("weight", 1)) for c in cases]) if cases else []
    tests = [TestResult(name=c["name"], score=0.0, max_score=m, status=Status.FAILED,
                        visible=bool(c.get("visible", False)), output=f"not run: {message.splitlines()[0]}",
                        outcome="not_run" if not grader_error else "grader_error")
             for c, m in zip(cases, max_scores)]
    return ProblemResult(problem=problem.id, title=problem.title, score=0.0, max_score=problem.points,
                         tests=tests, kind=problem.kind, submission=label, seed=seed, student=student,
                         error=message, grader_error=grader_error)


class ClassGrader:
    """Grades (student, problem) tasks for one assignment; safe to call from many threads."""

    def __init__(self, assignment: Assignment, bank: Bank, executor, limits: Limits | None = None,
                 cache: ResultCache | None = None, force: bool = False, device: str = "all"):
        from .devices import devices_here

        self.assignment = assignment
        self.device = device  #: --device: all, cpu or cuda (of each problem's listed devices)
        self.devices = devices_here(device)  #: where cases can run here: part of each job's cache key
        self.bank = bank
        self.executor = executor
        self.limits = (limits or Limits()).with_overrides(assignment.limits)
        self.cache = cache
        self.force = force
        self.references = [reference_digest(bank.reference_dir, p.problem.spec) for p in assignment.problems]
        self.engine = engine_version()
        self._prepared: dict[tuple[int, int], list] = {}
        self._lock = threading.Lock()
        self.submissions: dict[str, Submission | str] = {}

    def prepare_shared(self, indices: Iterable[int] | None = None) -> None:
        """Cases of the problems (all, or `indices`) for the shared seed, once, before any student runs:
        a reference that fails on a case is a spec error, reported before grading starts."""
        for index, entry in enumerate(self.assignment.problems):
            if indices is not None and index not in indices:
                continue
            # Import references and mistakes here, once, before worker threads compare in parallel.
            if entry.problem.spec.get("reference"):
                self.bank.load_callable(entry.problem.spec["reference"])
            for mistake in entry.problem.spec.get("mistakes", []):
                self.bank.load_callable(mistake["impl"], what=f"mistake '{mistake['name']}'")
            if entry.problem.kind == "function" and self.assignment.seed != "per-student":
                self._prepare(index, int(self.assignment.seed))

    def _prepare(self, index: int, seed: int):
        from .kinds.function import prepare_cases

        key = (index, seed)
        with self._lock:
            found = self._prepared.get(key)
        if found is None:
            found = prepare_cases(self.assignment.problems[index].problem, self.bank, seed, self.device)
            if self.assignment.seed != "per-student":
                with self._lock:
                    self._prepared[key] = found
        return found

    def read(self, entry: StudentEntry) -> Submission | str:
        """The student's files, or why they could not be read (the student's problem, not an error)."""
        try:
            return read_submission(entry.path)
        except GraderError as exc:
            return f"the submission could not be read: {exc.message}"

    def tasks_for(self, entry: StudentEntry, submission: Submission | str) -> list[Task]:
        self.submissions[entry.student] = submission
        seed = self.assignment.seed_for(entry.student)
        files = submission.files if isinstance(submission, Submission) else {"<unreadable>": submission.encode()}
        tasks = []
        for index, item in enumerate(self.assignment.problems):
            job = job_id(files=files, problem_spec={"id": item.id, "kind": item.problem.kind, **item.problem.spec},
                         points=item.problem.points, reference=self.references[index], seed=seed,
                         limits=self.limits.with_overrides(item.problem.spec.get("limits")).as_dict(),
                         module_name=item.file, engine=self.engine, device=self.device, devices=self.devices)
            tasks.append(Task(entry.student, index, job, seed))
        return tasks

    def cached(self, task: Task) -> ProblemResult | None:
        if self.cache is None or self.force:
            return None
        result = self.cache.get(task.job)
        if result is not None:
            result.student = task.student
        return result

    def grade(self, task: Task) -> ProblemResult:
        """Grade one task. Never raises: a grader failure becomes a result marked grader_error."""
        item = self.assignment.problems[task.index]
        problem = item.problem
        submission = self.submissions[task.student]
        label = submission.label if isinstance(submission, Submission) else task.student
        start = time.monotonic()
        try:
            if not isinstance(submission, Submission):
                result = _failed_result(problem, task.student, label, task.seed, submission)
            else:
                grade_kind = grader_for(problem.kind)
                options = {}
                if problem.kind == "function":
                    options = {"prepared": self._prepare(task.index, task.seed), "module_name": item.file}
                result = grade_kind(problem, submission, bank=self.bank, executor=self.executor, seed=task.seed,
                                    limits=self.limits, student=task.student, **options)
        except Exception as exc:  # noqa: BLE001 - the grader's failure, recorded, never the student's
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            result = _failed_result(problem, task.student, label, task.seed,
                                    f"the grader ran into an error ({detail}); this is not your fault: "
                                    "tell course staff", grader_error=True)
            result.stderr = traceback.format_exc()[-4000:]
        result.seconds = result.seconds or (time.monotonic() - start)
        if self.cache is not None:
            try:
                self.cache.put(task.job, result)
            except OSError:
                pass  # a cache that cannot be written only costs time on the next run
        return result


ProgressFn = Callable[[int, int, int], None]   # (done, total, cached)


def grade_class(assignment: Assignment, students: list[StudentEntry], *, bank: Bank, pool: Pool, executor,
                cache: ResultCache | None = None, force: bool = False, limits: Limits | None = None,
                progress: ProgressFn | None = None, device: str = "all") -> ClassReport:
    """Grade every student on every problem of the assignment (`device`: as `grader check --device`)."""
    start = time.monotonic()
    grader = ClassGrader(assignment, bank, executor, limits=limits, cache=cache, force=force, device=device)
    n_problems = len(assignment.problems)
    results: dict[str, list[ProblemResult | None]] = {s.student: [None] * n_problems for s in students}
    total = len(students) * n_problems
    done = cached = 0
    todo: list[Task] = []
    twins: dict[str, list[Task]] = {}  # job id -> later tasks with the same id (identical submissions)
    labels = {s.student: str(s.path) for s in students}
    for entry in students:
        for task in grader.tasks_for(entry, grader.read(entry)):
            hit = grader.cached(task)
            if hit is not None:
                hit.student, hit.submission = task.student, labels[task.student]
                results[task.student][task.index] = hit
                done += 1
                cached += 1
            elif task.job in twins:
                twins[task.job].append(task)
            else:
                twins[task.job] = []
                todo.append(task)
    if todo:
        grader.prepare_shared({t.index for t in todo})  # only what must run: a cached re-run stays fast
        start_executor = getattr(executor, "start", None)
        if start_executor:
            start_executor()
    if progress:
        progress(done, total, cached)
    for task, result in pool.map_unordered(grader.grade, todo):
        results[task.student][task.index] = result
        done += 1
        for twin in twins[task.job]:  # the same job id records one result
            copy = result_from_dict(result.to_dict())
            copy.student, copy.submission = twin.student, labels[twin.student]
            results[twin.student][twin.index] = copy
            done += 1
        if progress:
            progress(done, total, cached)
    report = ClassReport(assignment, [StudentResult(s.student, str(s.path), results[s.student]) for s in students],
                         wall=time.monotonic() - start, graded=len(todo), cached=cached, jobs=pool.jobs)
    return report


# ---------------------------------------------------------------- outputs

def write_outputs(report: ClassReport, out: Path | str) -> dict[str, Path]:
    """Write the gradebook, JUnit XML, per-student JSON and the summary under `out`; return their paths."""
    from .render.gradebook import gradebook_csv, student_json
    from .render.junit import junit_xml
    from .render.summary import render_summary

    out = Path(out)
    students_dir = out / "students"
    students_dir.mkdir(parents=True, exist_ok=True)
    paths = {"gradebook": out / "grades.csv", "junit": out / "junit.xml", "students": students_dir,
             "summary": out / "summary.txt"}
    _write(paths["gradebook"], gradebook_csv(report))
    _write(paths["junit"], junit_xml(report))
    for student in report.students:
        _write(students_dir / f"{student.student}.json", student_json(student))
    _write(paths["summary"], render_summary(report) + "\n")
    return paths


def _write(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def parse_fail_under(text: str, max_score: float) -> float:
    """`--fail-under 35` (points) or `--fail-under 70%` (of the assignment's total) -> points."""
    try:
        if text.strip().endswith("%"):
            return float(text.strip()[:-1]) / 100 * max_score
        return float(text)
    except ValueError:
        raise UsageError(f"--fail-under {text!r}: expected points (35) or a percentage (70%)") from None


class AutoExecutor:
    """The warm fork server, started on first need (a fully cached re-run never starts it); where it
    cannot start, or with kind 'fresh', a fresh Python per job. `warning` says when it fell back."""

    def __init__(self, kind: str = "fork"):
        self.kind = kind
        self.warning: str | None = None
        self._inner = None
        self._lock = threading.Lock()

    def start(self):
        with self._lock:
            if self._inner is None:
                from .runner import SubprocessExecutor

                if self.kind == "fresh":
                    self._inner = SubprocessExecutor()
                else:
                    from .forkserver import ForkServerError, ForkServerExecutor

                    executor = ForkServerExecutor()
                    try:
                        executor.server.start()
                        self._inner = executor
                    except (ForkServerError, OSError) as exc:
                        self.warning = (f"the fork server could not start ({exc}); "
                                        "using a fresh Python per job (slower)")
                        self._inner = SubprocessExecutor()
            return self._inner

    def run(self, job):
        return (self._inner or self.start()).run(job)

    def close(self) -> None:
        close = getattr(self._inner, "close", None)
        if close:
            close()

    def __enter__(self) -> "AutoExecutor":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
