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

import contextlib
import dataclasses
import os
import tempfile
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
from .sandbox import require_trusted
from .runner import AloneGate, hit_neighbour_limit
from .spec import Problem, read_yaml, schema_errors, load_schema
from .render.safe import one_line
from .submission import CODE_PATTERNS, Submission, printable, read_submission

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
    files: tuple[str, ...] = CODE_PATTERNS  #: which files of a student's folder form the submission
    notebook: str = "definitions"  #: how notebooks are read: definitions or run (grader.notebook)

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
                      limits=dict(data.get("limits", {})), gradescope=dict(data.get("gradescope", {})),
                      files=tuple(data.get("files", CODE_PATTERNS)), notebook=data.get("notebook", "definitions"))


def load_assignment(path: Path | str, bank: Bank) -> Assignment:
    path = Path(path)
    if not path.is_file():
        raise UsageError(f"{path}: no such assignment file", "Give --assignment the path of an assignment YAML file.")
    return parse_assignment(read_yaml(path, "assignment"), path, bank)


# ---------------------------------------------------------------- the class

@dataclass
class StudentEntry:
    student: str               #: the student id: the entry's name, made printable
    path: Path                 #: what is read (a symlink's target)
    not_graded: str | None = None  #: why this entry cannot be graded (a symlink out of the class folder...)


def find_students(folder: Path | str) -> list[StudentEntry]:
    """One entry per student: a folder (any files) or a single .py/.ipynb file; its stem is the id.

    Nothing is read here. A name that is not UTF-8 or holds control characters gets a printable id
    (caf\\xe9); a symbolic link is graded when it points inside the class folder, otherwise it is
    listed with the reason it is not graded; a .py/.ipynb entry that is not a regular file too."""
    folder = Path(folder)
    if not folder.is_dir():
        raise UsageError(f"{folder}: not a folder of submissions",
                         "Give a folder holding one folder or .py/.ipynb file per student "
                         "(or pass --single to grade one submission).")
    root = folder.resolve()
    entries: dict[str, StudentEntry] = {}
    for item in sorted(folder.iterdir()):
        if item.name.startswith((".", "_")):
            continue
        entry = _student_entry(item, root)
        if entry is None:
            continue
        if entry.student in entries:
            raise UsageError(f"{folder}: two submissions for student '{entry.student}': "
                             f"{printable(entries[entry.student].path.name)} and {printable(item.name)}",
                             "Keep one entry per student.")
        entries[entry.student] = entry
    if not entries:
        raise UsageError(f"{folder}: no submissions found (expected folders or .py/.ipynb files)")
    return list(entries.values())


def _student_entry(item: Path, root: Path) -> StudentEntry | None:
    """The class folder's entry `item` as a student, or None when it is not a submission (notes.txt)."""
    code_name = item.suffix in (".py", ".ipynb")
    if item.is_symlink():
        try:
            target = item.resolve(strict=True)
        except (OSError, RuntimeError):  # dangling, a loop
            return StudentEntry(printable(item.stem if code_name else item.name), item,
                                not_graded=f"{printable(item.name)} is a symbolic link to nothing: not graded")
        if not target.is_dir() and not (code_name and target.is_file()):
            return None  # a link to a data file, like any other non-code file
        student = printable(item.name if target.is_dir() else item.stem)
        if target == root or root not in target.parents:
            return StudentEntry(student, item, not_graded=f"{printable(item.name)} is a symbolic link to "
                                "outside the class folder: not graded")
        return StudentEntry(student, target)
    if item.is_dir():
        return StudentEntry(printable(item.name), item)
    if not code_name:
        return None
    if not item.is_file():
        return StudentEntry(printable(item.stem), item, not_graded=f"{printable(item.name)} is not a regular "
                            "file: not graded")
    return StudentEntry(printable(item.stem), item)


def check_student_id(student: str) -> str:
    """A student id given on the command line, refused when it could name a path outside the output folder."""
    if (not student.strip() or len(student) > 200 or "/" in student or "\\" in student or ".." in student
            or not student.isprintable() or one_line(student) != student):
        raise UsageError(f"--student {printable(student)[:80]!r}: a student id cannot be empty, longer than 200 "
                         "characters or hold '/', '\\', '..' or control characters (it names the student's output file)")
    return student


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
    not_written: list[str] = field(default_factory=list)  #: outputs write_outputs could not write, with why
    outputs_failed: bool = False  #: the gradebook, JUnit XML or summary could not be written

    @property
    def grader_errors(self) -> list[tuple[str, ProblemResult]]:
        return [(s.student, p) for s in self.students for p in s.problems if p.grader_error]

    @property
    def broken_problems(self) -> list[str]:
        """Problems the grader failed on without grading any submission of them cleanly: the grader
        itself is broken there. A failure on one student's data while others were graded is that
        student's result, not a broken grader."""
        broken = []
        for index, item in enumerate(self.assignment.problems):
            results = [s.problems[index] for s in self.students]
            if (any(r.grader_error for r in results)
                    and not any(not r.grader_error and r.error is None for r in results)):
                broken.append(item.id)
        return broken


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
        self.gate = AloneGate()
        self.rerun_alone = 0  #: results that hit the wall-time limit while crowded, graded again alone

    def _fairly(self, grade_once: Callable[[], ProblemResult]) -> ProblemResult:
        """Grade; a result that lost marks to the wall-time limit (or a speed test) while other jobs
        ran is graded again alone, and only that result counts (and is cached): a timeout a busy
        neighbour caused is never charged, one that reproduces is."""
        with self.gate.shared() as slot:
            result = grade_once()
        if slot.crowded and hit_neighbour_limit(result):
            with self.gate.alone():
                result = grade_once()
            with self._lock:
                self.rerun_alone += 1
        return result

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
        """The student's files, or why they could not be read (the student's problem, not an error:
        whatever reading their files raises stays with them)."""
        if entry.not_graded:
            return entry.not_graded
        try:
            return read_submission(entry.path, self.assignment.files, notebook=self.assignment.notebook)
        except GraderError as exc:
            return f"the submission could not be read: {exc.message}"
        except Exception as exc:  # noqa: BLE001 - malformed input the readers did not foresee
            return f"the submission could not be read ({type(exc).__name__}: {printable(str(exc))[:200]})"

    def failed(self, student: str, label: str, message: str, grader_error: bool = False) -> list[ProblemResult]:
        """One result per problem for a student none of whose problems could run, each with the reason."""
        seed = self.assignment.seed_for(student)
        return [_failed_result(item.problem, student, label, seed, message, grader_error=grader_error)
                for item in self.assignment.problems]

    def tasks_for(self, entry: StudentEntry, submission: Submission | str) -> list[Task]:
        """One task per problem, with its job id (the content hash its cached result is filed under)."""
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
                result = self._fairly(lambda: grade_kind(problem, submission, bank=self.bank, executor=self.executor,
                                                         seed=task.seed, limits=self.limits, student=task.student,
                                                         **options))
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
                progress: ProgressFn | None = None, device: str = "all",
                grader: ClassGrader | None = None) -> ClassReport:
    """Grade every student on every problem of the assignment (`device`: as `grader check --device`).
    `grader`: a ClassGrader kept from an earlier call (the course service's worker), whose prepared
    cases are reused instead of computed again.

    Students are read one at a time, when their jobs are about to run, and a student's files are
    dropped as soon as its last job is done: memory holds the jobs in flight, not the class.
    Whatever goes wrong with one student (unreadable files, a crash of the trusted code on their
    data) is that student's result; the others are graded as usual."""
    start = time.monotonic()
    grader = grader or ClassGrader(assignment, bank, executor, limits=limits, cache=cache, force=force, device=device)
    n_problems = len(assignment.problems)
    results: dict[str, list[ProblemResult | None]] = {s.student: [None] * n_problems for s in students}
    labels = {s.student: printable(str(s.path)) for s in students}
    total = len(students) * n_problems
    count = {"done": 0, "cached": 0, "graded": 0}
    running: dict[str, list[Task]] = {}      # job id -> tasks of identical submissions waiting for its result
    finished: dict[str, ProblemResult] = {}  # job id -> its result: an identical submission met later copies it
    jobs_left: dict[str, int] = {}           # student -> jobs not finished yet (its files are kept until 0)
    ready: set[int] = set()                  # problems whose references and shared cases are prepared

    def record(student: str, index: int, result: ProblemResult, copy: bool = False) -> None:
        if copy:  # the same job id records one result: a copy with this student's name
            result = result_from_dict(result.to_dict())
        result.student, result.submission = student, labels[student]
        results[student][index] = result
        count["done"] += 1

    def tasks_to_run() -> Iterator[Task]:
        for entry in students:
            try:
                submission = grader.read(entry)
                if not isinstance(submission, Submission):
                    for index, result in enumerate(grader.failed(entry.student, labels[entry.student], submission)):
                        record(entry.student, index, result)
                    continue
                runs = []
                for task in grader.tasks_for(entry, submission):
                    hit = grader.cached(task)
                    if hit is not None:
                        record(task.student, task.index, hit)
                        count["cached"] += 1
                    elif task.job in finished:
                        record(task.student, task.index, finished[task.job], copy=True)
                    elif task.job in running:
                        running[task.job].append(task)
                    else:
                        running[task.job] = []
                        runs.append(task)
            except Exception as exc:  # noqa: BLE001 - the grader's failure on this student's data only
                detail = printable("".join(traceback.format_exception_only(type(exc), exc)).strip())[:300]
                message = f"the grader ran into an error ({detail}); this is not your fault: tell course staff"
                for index, result in enumerate(grader.failed(entry.student, labels[entry.student], message, True)):
                    if results[entry.student][index] is None:
                        record(entry.student, index, result)
                continue
            finally:
                if progress:
                    progress(count["done"], total, count["cached"])
            if runs:
                grader.submissions[entry.student] = submission
                jobs_left[entry.student] = len(runs)
            del submission  # only the jobs about to run keep it (through grader.submissions)
            new = {task.index for task in runs} - ready
            if new:  # only what must run, before this student's jobs start: a cached re-run stays fast
                require_trusted()  # no namespaces and no --allow-weak-sandbox: refuse before grading anyone
                grader.prepare_shared(new)
                ready.update(new)
                start_executor = getattr(executor, "start", None)
                if start_executor:
                    start_executor()
            for task in runs:
                count["graded"] += 1
                yield task

    for task, result in pool.map_unordered(grader.grade, tasks_to_run()):
        record(task.student, task.index, result)
        finished[task.job] = result
        for twin in running.pop(task.job):
            record(twin.student, twin.index, result, copy=True)
        jobs_left[task.student] -= 1
        if not jobs_left[task.student]:
            del jobs_left[task.student]
            grader.submissions.pop(task.student, None)
        if progress:
            progress(count["done"], total, count["cached"])
    report = ClassReport(assignment, [StudentResult(s.student, labels[s.student], _complete(grader, s, results))
                                      for s in students],
                         wall=time.monotonic() - start, graded=count["graded"], cached=count["cached"], jobs=pool.jobs)
    return report


def _complete(grader: ClassGrader, entry: StudentEntry, results: dict) -> list[ProblemResult]:
    """The student's results; a hole (a grader bug) is filled with a grader error rather than lost."""
    found = results[entry.student]
    if all(r is not None for r in found):
        return found
    missing = grader.failed(entry.student, printable(str(entry.path)), "the grader lost this result; tell course staff",
                            True)
    return [r if r is not None else m for r, m in zip(found, missing)]


# ---------------------------------------------------------------- outputs

def write_outputs(report: ClassReport, out: Path | str) -> dict[str, Path]:
    """Write the gradebook, JUnit XML, per-student JSON and the summary under `out`; return their paths."""
    from .render.gradebook import gradebook_csv, student_file_name, student_json
    from .render.junit import junit_xml
    from .render.summary import render_summary

    out = Path(out)
    students_dir = out / "students"
    students_dir.mkdir(parents=True, exist_ok=True)
    paths = {"gradebook": out / "grades.csv", "junit": out / "junit.xml", "students": students_dir,
             "summary": out / "summary.txt"}
    report.not_written = []
    # Each output on its own: one that cannot be rendered or written costs no other output.
    _write_or_note(report, paths["gradebook"], lambda: gradebook_csv(report), whole_class=True)
    _write_or_note(report, paths["junit"], lambda: junit_xml(report), whole_class=True)
    for student in report.students:
        path = students_dir / student_file_name(student.student)
        _write_or_note(report, path, lambda: student_json(student))
    _write_or_note(report, paths["summary"], lambda: render_summary(report) + "\n" + "".join(
        f"Not written: {line}\n" for line in report.not_written), whole_class=True)
    return paths


def _write_or_note(report: ClassReport, path: Path, render: Callable[[], str], whole_class: bool = False) -> None:
    """Render and write one output; a failure is noted in `report.not_written` (and, for an output
    of the whole class, in `report.outputs_failed`: the grader is broken), never raised."""
    try:
        _write(path, render())
    except Exception as exc:  # noqa: BLE001 - reported by the caller; the other outputs still get written
        reason = exc.strerror if isinstance(exc, OSError) and exc.strerror else f"{type(exc).__name__}: {exc}"
        report.not_written.append(f"{printable(str(path))} ({printable(reason)[:300]})")
        report.outputs_failed |= whole_class


def _write(path: Path, text: str) -> None:
    """Write `text` atomically, through a short temporary name (a long file name leaves no room for a suffix)."""
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".part")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", errors="backslashreplace") as fh:
            fh.write(text)
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def parse_fail_under(text: str, max_score: float) -> float:
    """`--fail-under 35` (points, 0 to the assignment's total) or `--fail-under 70%` (0% to 100%) -> points."""
    number = text.strip()
    percent = number.endswith("%")
    try:
        value = float(number[:-1] if percent else number)
    except ValueError:
        raise UsageError(f"--fail-under {text!r}: expected points (35) or a percentage (70%)") from None
    top = 100.0 if percent else max_score
    if not 0 <= value <= top:  # NaN fails too
        allowed = "0% to 100%" if percent else f"0 to {max_score:g} points (the assignment's total)"
        raise UsageError(f"--fail-under {text!r}: must be {allowed}")
    return value / 100 * max_score if percent else value


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
