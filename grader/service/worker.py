"""The worker: leases jobs from the database and grades them with `grader grade`'s engine.

Each round leases up to `slots` jobs, writes each submission's files into a private temporary
folder, and grades them with `grader.classes.batch.grade_class` on a local pool of threads whose jobs
run on the executor `grader grade --executor` would use (a warm fork server here, or the workers of a
Ray cluster), exactly as `grader grade` grades a class folder (same sandbox, limits and seeds). A
heartbeat renews the leases while grading; each result is recorded only if this worker still
holds the job's lease (grader.service.queue). The uploads are run only in sandboxed children.
"""
from __future__ import annotations

import base64
import json
import os
import socket
import sys
import threading
import time
from pathlib import Path

from sqlalchemy import select

from grader.problems.bank import Bank
from grader.errors import GraderError
from grader.classes.pool import LocalPool, default_jobs, executor_for
from grader.classes.batch import ClassGrader, grade_class
from grader.classes.students import StudentEntry
from grader.service import queue
from grader.service.course import CourseAssignment
from grader.service.db import Sessions, Student, Submission
from grader.service.uploads import safe_relative_path
from grader.sandbox import tempdirs


class Worker:
    def __init__(self, sessions: Sessions, course: dict[str, CourseAssignment], bank: Bank,
                 slots: int | None = None, lease_seconds: float = 60.0, poll_seconds: float = 0.5,
                 executor_kind: str = "fork", ray_address: str | None = None, name: str | None = None):
        self.sessions = sessions
        self.course = course
        self.bank = bank
        self.jobs = slots  #: as given: None is two per core here, or what a Ray cluster's CPUs hold
        self.slots = max(1, slots or default_jobs())  #: jobs leased (and graded) at once
        self.lease_seconds = lease_seconds
        self.poll_seconds = poll_seconds
        self.executor_kind = executor_kind  #: as `grader grade --executor`: fork, fresh or ray
        self.ray_address = ray_address
        self.executor = None  #: while running: where the jobs' children run
        self.name = name or f"{socket.gethostname()}:{os.getpid()}"
        self.recorded = 0   #: results this worker recorded
        self.rejected = 0   #: results refused because the lease had moved on (the job ran elsewhere too)
        self.graders: dict[str, ClassGrader] = {}  #: per assignment, with its prepared cases

    def run(self, stop: threading.Event | None = None, max_idle: float | None = None) -> None:
        """Grade until `stop` is set (or, with `max_idle`, until the queue stayed empty that long)."""
        stop = stop or threading.Event()
        idle_since = time.monotonic()
        self.graders = {}  # they hold the executor below
        executor, jobs = executor_for(self.executor_kind, self.ray_address, self.jobs, many_jobs=True)  # long-lived
        self.executor = executor
        self.slots = max(1, jobs or default_jobs())
        print(f"worker {self.name}: grading {self.slots} submission(s) at once on {describe(executor)}",
              file=sys.stderr)
        with executor, LocalPool(self.slots) as pool:
            while not stop.is_set():
                try:
                    leased = self.round(pool, executor)
                except GraderError:  # the sandbox is unavailable, a spec is broken: nothing can be graded here
                    raise
                except Exception as exc:  # noqa: BLE001 - the database went away...: the leases expire, retry
                    print(f"worker {self.name}: {type(exc).__name__}: {str(exc)[:300]}; retrying", file=sys.stderr)
                    stop.wait(max(self.poll_seconds, 2.0))
                    continue
                if leased:
                    idle_since = time.monotonic()
                elif max_idle is not None and time.monotonic() - idle_since > max_idle:
                    break
                else:
                    stop.wait(self.poll_seconds)
            stats = getattr(executor, "stats", None)
            on_ray = f"; on Ray: {stats['jobs']} job(s), {stats['attempts']} attempt(s)" if stats is not None else ""
            print(f"worker {self.name}: stopped; {self.recorded} result(s) recorded{on_ray}", file=sys.stderr)

    def round(self, pool, executor) -> int:
        """Lease and grade one batch; returns how many jobs it leased."""
        with self.sessions.begin() as session:
            leases = queue.lease(session, self.name, self.slots, self.lease_seconds,
                                 assignments=list(self.course))
        if not leases:
            return 0
        heartbeat_stop = threading.Event()
        heartbeat = threading.Thread(target=self._heartbeat, args=(leases, heartbeat_stop), daemon=True)
        heartbeat.start()
        try:
            self._grade(leases, pool, executor)
        finally:
            heartbeat_stop.set()
            heartbeat.join()
        return len(leases)

    def _heartbeat(self, leases: list[queue.Lease], stop: threading.Event) -> None:
        while not stop.wait(self.lease_seconds / 3):
            try:
                with self.sessions.begin() as session:
                    queue.renew(session, leases, self.lease_seconds)
            except Exception:  # noqa: BLE001 - a missed renewal at worst lets another worker grade it too
                pass

    def _grade(self, leases: list[queue.Lease], pool, executor) -> None:
        with self.sessions() as session:
            rows = {sub.id: (sub, name) for sub, name in session.execute(
                select(Submission, Student.name).join(Student, Submission.student_id == Student.id)
                .where(Submission.id.in_([item.submission_id for item in leases]))).all()}
        # grade_class keys results by student: one submission per student and assignment per call.
        rounds: list[list[queue.Lease]] = []
        for item in leases:
            sub, student = rows[item.submission_id]
            for batch in rounds:
                if all(rows[other.submission_id][1] != student or rows[other.submission_id][0].assignment != sub.assignment
                       for other in batch):
                    batch.append(item)
                    break
            else:
                rounds.append([item])
        for batch in rounds:
            by_assignment: dict[str, list[queue.Lease]] = {}
            for item in batch:
                by_assignment.setdefault(rows[item.submission_id][0].assignment, []).append(item)
            for assignment_name, items in by_assignment.items():
                self._grade_assignment(assignment_name, items, rows, pool, executor)

    def _grade_assignment(self, assignment_name: str, items: list[queue.Lease], rows: dict, pool, executor) -> None:
        entry = self.course[assignment_name]  # lease() only takes these
        with tempdirs.folder("grader-service-") as tmp:
            students, lease_of = [], {}
            for index, item in enumerate(items):
                sub, student = rows[item.submission_id]
                folder = Path(tmp) / str(index)
                write_files(folder, sub.files)
                students.append(StudentEntry(student, folder))
                lease_of[student] = item
            if assignment_name not in self.graders:  # kept: each problem's cases are prepared once per worker
                self.graders[assignment_name] = ClassGrader(entry.assignment, self.bank, executor)
            report = grade_class(entry.assignment, students, bank=self.bank, pool=pool, executor=executor,
                                 grader=self.graders[assignment_name])
        folders = {entry.student: str(entry.path) for entry in students}
        for result in report.students:
            item = lease_of[result.student]
            problems = []
            for problem in result.problems:
                data = without_folder(problem.to_dict(), folders[result.student])
                data["submission"] = item.submission_id
                problems.append(data)
            payload = json.dumps({"score": result.score, "max_score": result.max_score, "problems": problems})
            with self.sessions.begin() as session:
                if queue.complete(session, item, payload, result.score, result.max_score):
                    self.recorded += 1
                else:
                    self.rejected += 1


def describe(executor) -> str:
    """Where an executor runs the jobs, for the worker's log."""
    if getattr(executor, "kind", None) == "ray":
        resources = executor.ray.cluster_resources()
        where = executor.address or os.environ.get("RAY_ADDRESS") or "a local instance"
        return (f"the Ray cluster at {where} ({resources.get('CPU', 0):g} CPUs, {resources.get('GPU', 0):g} GPUs; "
                f"CUDA cases {'run' if executor.cuda else 'skipped'})")
    return "this machine (" + ("a warm fork server" if getattr(executor, "kind", None) == "fork"
                               else "a fresh Python per job") + ")"


def write_files(folder: Path, stored: bytes) -> None:
    """A stored upload (JSON: name -> base64) as files under `folder`; names are checked again here."""
    folder.mkdir(parents=True)
    for name, encoded in json.loads(stored).items():
        path = folder / safe_relative_path(name)
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(encoded))


def without_folder(data, folder: str):
    """The result with the worker's temporary folder named as the student knows it ('your submission')."""
    if isinstance(data, str):
        return data.replace(folder + "/", "").replace(folder, "your submission")
    if isinstance(data, dict):
        return {key: without_folder(value, folder) for key, value in data.items()}
    if isinstance(data, list):
        return [without_folder(value, folder) for value in data]
    return data
