"""Where the grader process's own CPU goes in a class run: CPU time of each step, per problem-submission.

    python benchmarks/grader_phases.py STUDENTS
    ROOT=/tmp/other-checkout python benchmarks/grader_phases.py 100    # another checkout, same script

Grades class_rate.py's class (STUDENTS synthetic students x the 5 card problems, 4 pool slots,
after a 2-student warm-up) with the grader's steps wrapped: each wrapper adds the calling
thread's CPU time (time.thread_time) spent in the step, less what the wrapped steps inside it
took, so the rows add up without counting anything twice. Printed per problem-submission: the
process's CPU (user and system), then each step. The wrappers cost a little CPU themselves;
compare checkouts with this script, not with class_rate.py's figure.
"""
from __future__ import annotations

import collections
import functools
import os
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = os.environ.get("ROOT") or str(Path(__file__).resolve().parent.parent)
sys.path.insert(0, ROOT)
sys.path.insert(0, ROOT + "/benchmarks")
import bench_batch as bb  # noqa: E402
import grader.classes.batch as batch  # noqa: E402
import grader.kinds.function.kind as kind  # noqa: E402
import grader.sandbox.codec as codec  # noqa: E402
import grader.sandbox.confine as confine  # noqa: E402
import grader.sandbox.forkserver as forkserver  # noqa: E402
import grader.sandbox.runner as runner  # noqa: E402
from grader.classes.assignment import parse_assignment  # noqa: E402
from grader.classes.students import find_students  # noqa: E402
from grader.problems.bank import Bank  # noqa: E402

#: (module or class, attribute): the steps timed. A step looked up by name at call time (a module
#: global, a method) is wrapped where it is defined.
STEPS = [
    (kind, "check_sources"), (kind, "_test_result"), (kind, "name_mistakes"), (kind, "evaluate"),
    (kind, "_policy_test"), (kind, "policy_tests"), (kind, "_judge_speed"), (kind, "private_paths"),
    (codec, "decode"), (runner, "read_case"), (runner, "collect"), (runner, "batch_request_header"),
    (runner, "batch_frame"),
    (runner, "batchable"), (runner, "run_batch"), (runner, "run_with"), (runner, "drain"),
    (confine, "make_workdir"), (confine, "remove_workdir"), (confine, "prepare"), (confine.Box, "cleanup"),
    (confine.CgroupPool, "take"), (forkserver.ForkServer, "launch_batch"), (forkserver.ForkServer, "launch"),
    (forkserver.ForkHandle, "go"), (forkserver.ForkHandle, "kill"), (forkserver.ForkHandle, "close"),
    (batch.ClassGrader, "read"), (batch.ClassGrader, "tasks_for"), (batch.ClassGrader, "prepare_shared"),
    (batch.ClassGrader, "_attempt"), (batch.ClassGrader, "grade_together"), (batch, "grade_class"),
]

spent: dict[str, float] = collections.defaultdict(float)
calls: collections.Counter = collections.Counter()
by_thread: dict[str, float] = collections.defaultdict(float)
_local = threading.local()
_on = threading.Event()


def timed(owner, name: str) -> None:
    original = getattr(owner, name)
    label = f"{owner.__name__.split('.')[-1]}.{name}"

    @functools.wraps(original)
    def step(*args, **kwargs):
        if not _on.is_set():
            return original(*args, **kwargs)
        inner = _local.__dict__.setdefault("inner", [])
        start = time.thread_time()
        inner.append(0.0)
        try:
            return original(*args, **kwargs)
        finally:
            took = time.thread_time() - start
            spent[label] += took - inner.pop()
            calls[label] += 1
            if inner:
                inner[-1] += took

    setattr(owner, name, step)


def count_threads() -> None:
    """Each thread's CPU time by kind of thread (pool worker, a student's problem, cgroup cleaner)."""
    run = threading.Thread.run

    def counted(self):
        start = time.thread_time()
        try:
            run(self)
        finally:
            if _on.is_set():
                name = self.name
                what = ("pool worker" if name.startswith("grader-worker") else "cgroup cleaner" if "cgroup" in name
                        else "a student's problem" if name.startswith("grader-") else "other")
                by_thread[what] += time.thread_time() - start

    threading.Thread.run = counted


def main() -> None:
    students_n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    for owner, name in STEPS:
        timed(owner, name)
    count_threads()
    bank = Bank()
    assignment = parse_assignment({"name": "benchmark", "problems": bb.CARD}, Path("<benchmark>"), bank)
    with tempfile.TemporaryDirectory(prefix="grader-bench-") as tmp:
        bb.make_class(Path(tmp, "class"), students_n + 2)
        students = find_students(Path(tmp, "class"))
        with forkserver.ForkServerExecutor(forkserver.ForkServer(huge_pages=True)) as executor:
            bb.run_class(assignment, students[:2], bank, executor, 4)  # warm-up: template, cgroups, caches
            _on.set()
            before, main_before = os.times(), time.thread_time()
            _, wall, _ = bb.run_class(assignment, students[2:], bank, executor, 4)
            after, main_cpu = os.times(), time.thread_time() - main_before
            time.sleep(1.5)  # the cgroup cleaner's last sets
            _on.clear()
    jobs = students_n * len(bb.CARD)
    ms = lambda seconds: 1000 * seconds / jobs  # noqa: E731
    user, system = after.user - before.user, after.system - before.system
    print(f"{os.path.basename(ROOT)}: {students_n} students, {wall:.1f} s, load {os.getloadavg()[0]:.1f}; "
          f"grader process {ms(user + system):.2f} ms of CPU per problem-submission "
          f"(user {ms(user):.2f}, system {ms(system):.2f})")
    print(f"  {'main thread':40s} {ms(main_cpu):6.3f}")
    for what, seconds in sorted(by_thread.items(), key=lambda item: -item[1]):
        print(f"  {'threads: ' + what:40s} {ms(seconds):6.3f}")
    print("  steps (each without the steps inside it):")
    for label, seconds in sorted(spent.items(), key=lambda item: -item[1]):
        print(f"  {label:40s} {ms(seconds):6.3f}  ({calls[label]} calls)")
    print(f"  {'(the steps together)':40s} {ms(sum(spent.values())):6.3f}")


if __name__ == "__main__":
    main()
