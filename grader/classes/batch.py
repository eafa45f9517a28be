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

import threading
import time
import traceback
from dataclasses import dataclass, field
from typing import Callable, Iterable, Iterator

from grader.problems.locations import private_paths
from grader.problems.bank import Bank
from grader.classes.assignment import Assignment
from grader.classes.pool import Pool
from grader.classes.students import StudentEntry
from grader.classes.cache import ResultCache, files_digest, problem_job_ids, reference_digest, result_from_dict
from grader.digests import engine_version
from grader.errors import GraderError
from grader.kinds import kind_of
from grader.limits import Limits
from grader.result import StudentResult, ProblemResult, Status, TestResult, split_points
from grader.sandbox.confine import require_trusted
from grader.sandbox.runner import AloneGate, batch_mode, hit_neighbour_limit
from grader.problems.spec import Problem
from grader.problems.submission import Submission, printable, read_submission

# ---------------------------------------------------------------- results

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
    return ProblemResult.empty(problem, tests=tests, submission=label, seed=seed, student=student,
                               error=message, grader_error=grader_error)


class ClassGrader:
    """Grades (student, problem) tasks for one assignment; safe to call from many threads."""

    def __init__(self, assignment: Assignment, bank: Bank, executor, limits: Limits | None = None,
                 cache: ResultCache | None = None, force: bool = False, device: str = "all"):
        from grader.sandbox.devices import devices_here

        self.assignment = assignment
        self.device = device  #: --device: all, cpu or cuda (of each problem's listed devices)
        self.devices = devices_here(device)  #: where cases can run here: part of each job's cache key
        self.bank = bank
        self.executor = executor
        self.limits = (limits or Limits()).with_overrides(assignment.limits)
        self.cache = cache
        self.force = force
        self.references = [reference_digest(bank.reference_dir, p.problem.spec, kind_of(p.problem.kind).data_folders(p.problem))
                           for p in assignment.problems]
        self.engine = engine_version()
        self._prepared: dict[tuple[int, int], list] = {}
        self._ids: list | None = None  #: per problem, its job ids' function (see _job_ids)
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
            if self.assignment.seed != "per-student":
                self._prepare(index, int(self.assignment.seed))

    def save_known_mistakes(self) -> None:
        """Keep what this run computed on the shared cases for the next run (a function problem's
        known mistakes' outputs: `Kind.save_prepared`), once, at the end of the class."""
        with self._lock:
            prepared = list(self._prepared.items())
        for (index, _seed), found in prepared:
            kind_of(self.assignment.problems[index].problem.kind).save_prepared(found)

    def _prepare(self, index: int, seed: int):
        key = (index, seed)
        with self._lock:
            found = self._prepared.get(key)
        if found is None:
            problem = self.assignment.problems[index].problem
            found = kind_of(problem.kind).prepare(problem, self.bank, seed, self.device)
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
        files = files_digest(files)
        return [Task(entry.student, index, ids(files, seed), seed) for index, ids in enumerate(self._job_ids())]

    def _job_ids(self) -> list:
        """Per problem, `cache.problem_job_ids`: its job ids without encoding its spec per student."""
        with self._lock:
            if self._ids is None:
                self._ids = [problem_job_ids(
                    problem_spec={"id": item.id, "kind": item.problem.kind, **item.problem.spec},
                    points=item.problem.points, reference=self.references[index],
                    limits=self.limits.with_overrides(item.problem.spec.get("limits")).as_dict(),
                    module_name=item.file, engine=self.engine, device=self.device, devices=self.devices)
                    for index, item in enumerate(self.assignment.problems)]
            return self._ids

    def cached(self, task: Task) -> ProblemResult | None:
        if self.cache is None or self.force:
            return None
        result = self.cache.get(task.job)
        if result is not None:
            result.student = task.student
        return result

    def grade(self, task: Task) -> ProblemResult:
        """Grade one task. Never raises: a grader failure becomes a result marked grader_error."""
        start = time.monotonic()
        result = self._fairly(lambda: self._attempt(task, self.executor))
        return self._keep(task, result, start)

    def _attempt(self, task: Task, executor) -> ProblemResult:
        """Grade one task once with `executor`; a grader failure becomes a result marked grader_error."""
        item = self.assignment.problems[task.index]
        problem = item.problem
        submission = self.submissions[task.student]
        label = submission.label if isinstance(submission, Submission) else task.student
        try:
            if not isinstance(submission, Submission):
                return _failed_result(problem, task.student, label, task.seed, submission)
            kind = kind_of(problem.kind)
            options = {"prepared": self._prepare(task.index, task.seed), "module_name": item.file}
            return kind.grade(problem, submission, bank=self.bank, executor=executor, seed=task.seed,
                              limits=self.limits, student=task.student, **options)
        except Exception as exc:  # noqa: BLE001 - the grader's failure, recorded, never the student's
            detail = "".join(traceback.format_exception_only(type(exc), exc)).strip()
            result = _failed_result(problem, task.student, label, task.seed,
                                    f"the grader ran into an error ({detail}); this is not your fault: "
                                    "tell course staff", grader_error=True)
            result.stderr = traceback.format_exc()[-4000:]
            return result

    def _keep(self, task: Task, result: ProblemResult, start: float) -> ProblemResult:
        result.seconds = result.seconds or (time.monotonic() - start)
        if self.cache is not None:
            try:
                self.cache.put(task.job, result)
            except OSError:
                pass  # a cache that cannot be written only costs time on the next run
        return result

    def batching(self) -> bool:
        """Whether a student's problems are graded together (`grade_together`): the executor can
        run them in one child (the fork server under the full sandbox), unless GRADER_BATCH=off
        (every job in a child of its own, as before batching; "processes": a batch's problems each in
        a process of its own, see grader/sandbox/runner.py)."""
        if batch_mode() == "off":
            return False
        return bool(getattr(self.executor, "can_batch", False))

    def grade_unit(self, tasks: list[Task]) -> list[ProblemResult]:
        """Grade a pool's unit: one task, or a student's tasks together (`grade_together`)."""
        return [self.grade(tasks[0])] if len(tasks) == 1 else self.grade_together(tasks)

    def grade_together(self, tasks: list[Task]) -> list[ProblemResult]:
        """Grade one student's tasks at once, each in a thread of its own, their first runs of
        student code collected into one `executor.run_batch` (one sandboxed child for all of
        them; see `_Together`). The results are what `grade` gives each task alone: the batch
        reruns alone any problem that did not end cleanly, and a result that lost marks to the
        wall clock while other jobs ran is graded again alone here, as `_fairly` does."""
        start = time.monotonic()
        together = _Together(self.executor, len(tasks))
        results: list[ProblemResult | None] = [None] * len(tasks)

        def one(index: int) -> None:
            me = threading.current_thread()
            together.order[me] = index
            try:
                result = self._attempt(tasks[index], together)
                # Its own time, as if graded alone: not the batch's other problems it waited for.
                result.seconds = max(0.0, (result.seconds or 0.0) - together.waited.get(me, 0.0))
                results[index] = result
            finally:
                together.leave()

        with self.gate.shared() as slot:
            threads = [threading.Thread(target=one, args=(i,), name=f"grader-{tasks[0].student}-{i}", daemon=True)
                       for i in range(len(tasks))]
            for thread in threads:
                thread.start()
            together.serve()
            for thread in threads:
                thread.join()
        for index, task in enumerate(tasks):
            if results[index] is None:  # pragma: no cover - _attempt never raises
                results[index] = self._attempt(task, self.executor)
            if slot.crowded and hit_neighbour_limit(results[index]):
                with self.gate.alone():
                    results[index] = self._attempt(task, self.executor)
                with self._lock:
                    self.rerun_alone += 1
        return [self._keep(task, result, start) for task, result in zip(tasks, results)]


class _Together:
    """An executor for the threads grading one student's problems (`ClassGrader.grade_together`):
    each thread's first `run` of a job that can share a child (plain calls on the CPU) waits;
    once no thread can add one any more (each is waiting, has left, or ran something else), the
    grading thread (`serve`) runs the waiting jobs as one `run_batch` and hands each its result.
    Every other run goes straight to the executor (a speed test's reference timing, a module
    problem's job). At most one batch per student."""

    def __init__(self, executor, threads: int):
        self.executor = executor
        self._threads = threads
        # One lock for the state, and an event for each thing a thread waits for, so that a change
        # wakes only the thread it concerns (a condition's notify_all woke every thread each time).
        self._lock = threading.Lock()
        self._all_closed = threading.Event()  # no thread can add a job: the batch may run
        self._all_left = threading.Event()
        self._waiting: dict = {}   # thread -> its job
        self._answered: dict = {}   # thread -> set once its answer is in _answers
        self._answers: dict = {}    # thread -> ("ok", RunResult) or ("error", exc)
        self._done: set = set()     # threads that can no longer add a job; once all are, the batch runs
        self._left = 0
        self.order: dict = {}   # thread -> its problem's place in the assignment (the batch runs in that order)
        self.waited: dict = {}  # thread -> seconds it waited for the batch beyond its own job's run

    def run(self, job):
        me = threading.current_thread()  # not get_ident(): a finished thread's ident is reused
        with self._lock:
            joins = me not in self._done and job.mode == "calls" and not job.cuda
            if joins:
                self._waiting[me] = job
                answered = self._answered[me] = threading.Event()
            self._close(me)
        if not joins:
            return self.executor.run(job)
        asked = time.monotonic()
        answered.wait()
        with self._lock:
            how, value = self._answers.pop(me)
        if how == "error":
            raise value
        self.waited[me] = max(0.0, time.monotonic() - asked - value.wall)
        return value

    def _close(self, me) -> None:
        """(With the lock held.) `me` can add no job now."""
        if me not in self._done:
            self._done.add(me)
            if len(self._done) == self._threads:
                self._all_closed.set()

    def leave(self) -> None:
        """A grading thread is done."""
        with self._lock:
            self._close(threading.current_thread())
            self._left += 1
            if self._left == self._threads:
                self._all_left.set()

    def serve(self) -> None:
        """Run the batch once no thread can add to it; return when every thread has left."""
        self._all_closed.wait()
        with self._lock:
            waiting = sorted(self._waiting.items(), key=lambda item: self.order.get(item[0], 0))
        if waiting:
            idents, jobs = [thread for thread, _ in waiting], [job for _, job in waiting]
            try:
                answers = [("ok", r) for r in self.executor.run_batch(jobs)]
            except Exception as exc:  # noqa: BLE001 - each thread raises it, as executor.run would have
                answers = [("error", exc)] * len(jobs)
            with self._lock:
                self._answers.update(zip(idents, answers))
            for thread in idents:
                self._answered[thread].set()
        self._all_left.wait()


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

    def tasks_to_run() -> Iterator[list[Task]]:
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
                require_trusted(private_paths())  # no namespaces and no --allow-weak-sandbox: refuse before grading anyone
                grader.prepare_shared(new)
                ready.update(new)
                start_executor = getattr(executor, "start", None)
                if start_executor:
                    start_executor()
            count["graded"] += len(runs)
            if len(runs) > 1 and together:
                yield runs  # one unit: the student's problems in one child
            else:
                yield from ([task] for task in runs)

    # A student's problems share one child only when there are students enough to keep every slot
    # busy: with fewer (one submission to the course service, a small class) they run side by side,
    # and the submission's results come back sooner.
    together = grader.batching() and len(students) >= pool.jobs
    for unit, unit_results in pool.map_unordered(grader.grade_unit, tasks_to_run()):
        for task, result in zip(unit, unit_results):
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
    grader.save_known_mistakes()
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
