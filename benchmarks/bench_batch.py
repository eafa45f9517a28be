"""Throughput and added latency of class grading: the warm fork server against a fresh Python per job.

    python benchmarks/bench_batch.py                       # 60 students x 5 card problems, baseline on 8
    python benchmarks/bench_batch.py --students 200 --baseline-students 12 --jobs 4

Synthetic class: N students, each one .py file with the five card problems (sigmoid-backward,
adam-step, coin-entropy, conv-output-size, attention); half the students have every function
right, half have the known mistakes from examples/<id>/buggy.py. Each file carries its student
id in a comment so no two jobs share a content hash (nothing is deduplicated or cached).

Measured in the same run, interleaved in rounds (so both see the same machine load), with the same pool (`--jobs` worker threads), the same prepared cases,
comparisons and sandbox:

* fork server: `grader.classes.batch.grade_class` over all N students (the `grader grade` path:
  a student's problems in one child, `run_batch`);
* with `--no-batch`: the same fork server with GRADER_BATCH=off (a child per problem-submission);
* baseline: the same on the first `--baseline-students` students with `SubprocessExecutor`:
  a fresh `python -I` per problem-submission that imports torch, loads the file and runs the
  same cases (the obvious alternative, and what `grader check` does for one submission).

Throughput is problem-submissions per second of wall time. Added latency per problem-submission
is what the executor adds around the student's own code: the wall time of `executor.run(job)`
minus the time the child measured inside the student's function calls. It is measured in a
separate sequential pass (one job at a time, so queueing on a loaded machine does not count).
"""
from __future__ import annotations

import argparse
import atexit
import contextlib
import os
import platform
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.problems.bank import Bank  # noqa: E402
from grader.classes.pool import LocalPool, default_jobs
from grader.classes.students import find_students
from grader.classes.batch import grade_class
from grader.classes.assignment import parse_assignment  # noqa: E402
from grader.sandbox.forkserver import ForkServer, ForkServerExecutor  # noqa: E402
from grader.sandbox.runner import SubprocessExecutor  # noqa: E402
from cpu_meter import CpuMeter, own_cpu_seconds  # noqa: E402

CARD = ["sigmoid-backward", "adam-step", "coin-entropy", "conv-output-size", "attention"]


def make_class(root: Path, n: int) -> None:
    root.mkdir(parents=True, exist_ok=True)
    for i in range(n):
        variant = "correct" if i % 2 == 0 else "buggy"
        parts = [f"# student {i:04d} ({variant})\nimport math\n\nimport torch\n\n"]
        for problem in CARD:
            text = (ROOT / "examples" / problem / f"{variant}.py").read_text()
            parts.append("\n".join(l for l in text.splitlines() if not l.startswith("import ")).strip() + "\n\n\n")
        (root / f"student{i:04d}.py").write_text("".join(parts))


class Recording:
    """Wraps an executor; records (wall of run, seconds inside the student's calls) per job."""

    def __init__(self, inner):
        self.inner = inner
        self.records: list[tuple[float, float]] = []
        self._lock = threading.Lock()

    def run(self, job):
        start = time.perf_counter()
        result = self.inner.run(job)
        wall = time.perf_counter() - start
        inside = sum(c.seconds or 0.0 for c in result.cases)
        with self._lock:
            self.records.append((wall, inside))
        return result

    @property
    def can_batch(self) -> bool:
        return bool(getattr(self.inner, "can_batch", False))

    def run_batch(self, jobs):
        """A student's jobs in one child: each job is recorded with its share of the batch's wall time."""
        start = time.perf_counter()
        results = self.inner.run_batch(jobs)
        share = (time.perf_counter() - start) / max(1, len(jobs))
        with self._lock:
            self.records += [(share, sum(c.seconds or 0.0 for c in r.cases)) for r in results]
        return results


def run_class(assignment, students, bank, executor, jobs: int):
    recording = Recording(executor)
    with LocalPool(jobs) as pool:
        start = time.perf_counter()
        report = grade_class(assignment, students, bank=bank, pool=pool, executor=recording)
        wall = time.perf_counter() - start
    return report, wall, recording.records


class Breakdown:
    """Where one job's time goes, one job at a time: the grader's steps (timed here by wrapping
    them) and the child's (the stamps a profiling template's children write to stderr)."""

    def __init__(self):
        self.jobs: list[dict] = []
        self._current: dict | None = None

    def mark(self, step: str) -> None:
        if self._current is not None:
            self._current.setdefault(step, time.monotonic())

    @staticmethod
    def install_all(probes):
        """Wrap the grader-side steps of `runner.run_with` once, marking whichever probe is running
        a job (sequential runs only)."""
        from grader.sandbox import confine, forkserver, runner

        probes = list(probes)

        def mark(step):
            for probe in probes:
                probe.mark(step)

        def wrap(owner, name, before, after):
            inner = getattr(owner, name)

            def wrapped(*args, **kwargs):
                mark(before)
                try:
                    return inner(*args, **kwargs)
                finally:
                    mark(after)
            setattr(owner, name, wrapped)

        wrap(confine, "make_workdir", "start", "work folder made")
        wrap(confine, "prepare", "cgroups make", "cgroups made")
        wrap(forkserver.ForkServer, "_spawn", "spawn", "template forked")
        wrap(runner, "collect", "collect", "results read")
        wrap(forkserver.ForkHandle, "close", "kill", "killed")
        wrap(confine.Box, "cleanup", "cgroups remove", "cgroups removed")
        wrap(confine, "remove_workdir", "workdir remove", "work folder removed")

    def run(self, executor, job):
        import json

        self._current = {}
        result = executor.run(job)
        stamps = self._current
        self._current = None
        for line in result.stderr.splitlines():
            if line.startswith("grader-profile: "):
                for step, at in json.loads(line[len("grader-profile: "):]):
                    stamps.setdefault(step, at)
        stamps["end"] = time.monotonic()
        self.jobs.append(stamps)
        return result

    #: (label, from, to): the steps of one job, in the order they happen
    STEPS = [
        ("grader: make the work folder", "start", "work folder made"),
        ("grader: make or take the cgroups", "cgroups make", "cgroups made"),
        ("template: fork (request to pid reply)", "spawn", "template forked"),
        ("child: read and decode the request, reseed", "forked", "request read"),
        ("child: close fds, unshare namespaces", "request read", "namespaces"),
        ("child: join the cgroups", "namespaces", "cgroups joined"),
        ("child: fork init (PID 1)", "cgroups joined", "init forked"),
        ("init: build the filesystem view", "init forked", "root built"),
        ("init: fork the worker", "root built", "worker forked"),
        ("worker: keyring, uid drop, rlimits, seccomp", "worker forked", "confined"),
        ("worker: load the submission", "confined", "loaded"),
        ("worker: run the cases", "loaded", "cases"),
        ("grader: read the last frames, kill the tree", "cases", "killed"),
        ("grader: remove or release the cgroups", "cgroups remove", "cgroups removed"),
        ("grader: remove the work folder", "workdir remove", "work folder removed"),
        ("executor.run, whole", "start", "end"),
    ]

    def rows(self, outside_ms: float) -> list[tuple[str, str, str]]:
        rows = []
        for label, a, b in self.STEPS:
            values = [1000 * (j[b] - j[a]) for j in self.jobs if a in j and b in j]
            if values:
                rows.append((label, f"{statistics.median(values):.1f}", f"{percentile(values, 0.9):.1f}"))
        rows.append(("grader: outside executor.run (build the job, compare, score), mean", f"{outside_ms:.1f}", ""))
        return rows


def breakdown(assignment, students, bank, before: bool) -> list[str]:
    """Grade `students` one job at a time on a profiling fork server; the per-step table (with
    `before`, two columns: the fork server as before cgroups were reused, student by student in turn)."""
    probes = {"now": Breakdown()}
    if before:
        probes["before"] = Breakdown()
    Breakdown.install_all(probes.values())

    class Probed:
        def __init__(self, inner, probe):
            self.inner, self.probe = inner, probe

        def run(self, job):
            return self.probe.run(self.inner, job)

    now = ForkServerExecutor(ForkServer(profile=True, huge_pages=True))
    old = ForkServerExecutor(ForkServer(profile=True, cgroup_templates=False)) if before else None
    outside = {name: [0.0, 0] for name in probes}
    try:
        run_class(assignment, students[:1], bank, now, 1)  # warm-up
        if old:
            with per_job_cgroups():
                run_class(assignment, students[:1], bank, old, 1)
        for student in students:
            for name, executor in (("now", now), ("before", old)):
                if executor is None:
                    continue
                with (per_job_cgroups() if name == "before" else contextlib.nullcontext()):
                    _, wall, records = run_class(assignment, [student], bank, Probed(executor, probes[name]), 1)
                outside[name][0] += wall - sum(w for w, _ in records)
                outside[name][1] += len(records)
    finally:
        now.close()
        if old:
            old.close()
    tables = {name: probe.rows(1000 * outside[name][0] / max(1, outside[name][1])) for name, probe in probes.items()}
    if not before:
        return ["| step | median (ms) | p90 (ms) |", "|---|---|---|"] + [f"| {l} | {m} | {p} |" for l, m, p in tables["now"]]
    old_rows = {label: (m, p) for label, m, p in tables["before"]}
    return (["| step | before: median (ms) | p90 | now: median (ms) | p90 |", "|---|---|---|---|---|"]
            + [f"| {l} | {old_rows.get(l, ('', ''))[0]} | {old_rows.get(l, ('', ''))[1]} | {m} | {p} |"
               for l, m, p in tables["now"]])


@contextlib.contextmanager
def batching_off():
    """Every problem-submission in a child of its own (GRADER_BATCH=off), for a while."""
    from grader.sandbox.runner import BATCH_ENV

    saved = os.environ.get(BATCH_ENV)
    os.environ[BATCH_ENV] = "off"
    try:
        yield
    finally:
        if saved is None:
            os.environ.pop(BATCH_ENV, None)
        else:
            os.environ[BATCH_ENV] = saved


@contextlib.contextmanager
def per_job_cgroups():
    """Cgroups made and removed per job, as before the pool: a pool nobody holds, for a while."""
    from grader.sandbox import confine

    saved, confine.CGROUPS = confine.CGROUPS, confine.CgroupPool()
    try:
        yield
    finally:
        confine.CGROUPS = saved


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def machine() -> str:
    model = ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import torch

    return (f"{os.cpu_count()} CPUs ({model or platform.processor() or platform.machine()}), "
            f"Linux {platform.release()}, Python {platform.python_version()}, torch {torch.__version__}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=60)
    parser.add_argument("--baseline-students", type=int, default=8)
    parser.add_argument("--latency-students", type=int, default=10)
    parser.add_argument("--jobs", type=int, default=default_jobs())
    parser.add_argument("--rounds", type=int, default=4, help="Interleaved rounds of fork server and baseline.")
    parser.add_argument("--before", action="store_true",
                        help="Also run, interleaved, the fork server as it was before cgroups were reused "
                             "(a cgroup set made, joined and removed per job).")
    parser.add_argument("--no-batch", action="store_true",
                        help="Also run, interleaved, the same fork server with GRADER_BATCH=off (each "
                             "problem-submission in a child of its own, as before a student's problems were batched).")
    parser.add_argument("--breakdown", type=int, default=0, metavar="N",
                        help="Only time each step of N students' jobs, one job at a time, and print the table.")
    args = parser.parse_args()
    if args.breakdown:
        bank = Bank()
        assignment = parse_assignment({"name": "benchmark", "problems": CARD}, Path("<benchmark>"), bank)
        with tempfile.TemporaryDirectory(prefix="grader-bench-") as tmp:
            make_class(Path(tmp, "class"), args.breakdown)
            load = os.getloadavg()
            table = breakdown(assignment, find_students(Path(tmp, "class")), bank, args.before)
        print(f"machine: {machine()}\nload average before/after: {load[0]:.1f} / {os.getloadavg()[0]:.1f}")
        print(f"per job, {args.breakdown * len(CARD)} problem-submissions one at a time "
              f"(python benchmarks/bench_batch.py --breakdown {args.breakdown}"
              f"{' --before' if args.before else ''}):\n")
        print("\n".join(table))
        return

    bank = Bank()
    assignment = parse_assignment({"name": "benchmark", "problems": CARD}, Path("<benchmark>"), bank)
    with tempfile.TemporaryDirectory(prefix="grader-bench-") as tmp:
        make_class(Path(tmp, "class"), args.students)
        students = find_students(Path(tmp, "class"))
        load_before = os.getloadavg()
        base_students = students[:args.baseline_students]
        # Interleave the two in rounds, so that both see the same share of a machine whose load
        # (other people's work) drifts during the run; each side's wall time is summed over rounds.
        fork_wall = base_wall = before_wall = fork_cpu = before_cpu = alone_wall = alone_cpu = 0.0
        fork_own = alone_own = 0.0  # the grader process's own share of the CPU
        fork_reports, base_reports, base_latency, alone_reports = [], [], [], []
        rounds = max(1, min(args.rounds, len(base_students)))
        meter = CpuMeter()  # before any template starts: every process of the run is counted
        atexit.register(meter.close)  # its cgroup removed when the run's processes are gone, error or not
        before = ForkServerExecutor(ForkServer(cgroup_templates=False)) if args.before else None
        with ForkServerExecutor(ForkServer(huge_pages=True)) as fork:  # as `grader grade` does for a class this size
            run_class(assignment, students[:2], bank, fork, args.jobs)  # warm-up: template started, caches filled
            if before:
                with per_job_cgroups():
                    run_class(assignment, students[:2], bank, before, args.jobs)
            for r in range(rounds):
                part = students[r * len(students) // rounds:(r + 1) * len(students) // rounds]
                cpu, own = meter.read(), own_cpu_seconds()
                report, wall, _ = run_class(assignment, part, bank, fork, args.jobs)
                fork_cpu += meter.read() - cpu
                fork_own += own_cpu_seconds() - own
                fork_reports.append(report)
                fork_wall += wall
                if args.no_batch:
                    with batching_off():
                        cpu, own = meter.read(), own_cpu_seconds()
                        report, wall, _ = run_class(assignment, part, bank, fork, args.jobs)
                        alone_cpu += meter.read() - cpu
                        alone_own += own_cpu_seconds() - own
                    alone_wall += wall
                    alone_reports.append(report)
                if before:
                    with per_job_cgroups():
                        cpu = meter.read()
                        _, wall, _ = run_class(assignment, part, bank, before, args.jobs)
                        before_cpu += meter.read() - cpu
                    before_wall += wall
                part = base_students[r * len(base_students) // rounds:(r + 1) * len(base_students) // rounds]
                report, wall, records = run_class(assignment, part, bank, SubprocessExecutor(), args.jobs)
                base_reports.append(report)
                base_wall += wall
                base_latency += records
            with batching_off():  # one job at a time: the latency of one problem-submission's child
                _, _, latency = run_class(assignment, students[:args.latency_students], bank, fork, 1)
            # The same pass with the sandbox's namespaces, filesystem view and cgroups off (rlimits only):
            # what the fork server itself adds, apart from the sandbox's set-up and tear-down.
            saved = os.environ.get("GRADER_SANDBOX")
            os.environ["GRADER_SANDBOX"] = "off"
            try:
                with batching_off():
                    _, _, bare = run_class(assignment, students[:args.latency_students], bank, fork, 1)
            finally:
                if saved is None:
                    os.environ.pop("GRADER_SANDBOX", None)
                else:
                    os.environ["GRADER_SANDBOX"] = saved
        if before:
            before.close()
        load_after = os.getloadavg()

    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
    n_fork = len(students) * len(CARD)
    n_base = len(base_students) * len(CARD)
    fork_rate, base_rate = n_fork / fork_wall, n_base / base_wall
    added = [1000 * (wall - inside) for wall, inside in latency]
    base_added = [1000 * (wall - inside) for wall, inside in base_latency]
    bare_added = [1000 * (wall - inside) for wall, inside in bare]
    # Same students, same verdicts: the executors must agree on every score they both graded.
    fork_scores = {s.student: s.score for report in fork_reports for s in report.students}
    mismatches = [s.student for report in base_reports + alone_reports for s in report.students
                  if abs(fork_scores[s.student] - s.score) > 1e-9]
    full = sum(1 for report in fork_reports for s in report.students if s.score == s.max_score)

    lines = [
        f"machine: {machine()}",
        f"load average before/after: {load_before[0]:.1f} / {load_after[0]:.1f} (other work shares these CPUs)",
        f"command: python benchmarks/bench_batch.py --students {args.students} "
        f"--baseline-students {args.baseline_students} --latency-students {args.latency_students} --jobs {args.jobs} "
        f"--rounds {rounds}" + (" --before" if args.before else "") + (" --no-batch" if args.no_batch else ""),
        "",
        "| executor | problem-submissions | wall (s) | per second | added latency median (ms) | p95 (ms) |",
        "|---|---|---|---|---|---|",
        f"| fork server, {args.jobs} workers | {n_fork} | {fork_wall:.1f} | {fork_rate:.1f} | "
        f"{statistics.median(added):.0f} | {percentile(added, 0.95):.0f} |",
        f"| baseline: fresh python per job, {args.jobs} workers | {n_base} | {base_wall:.1f} | {base_rate:.2f} | "
        f"{statistics.median(base_added):.0f} | {percentile(base_added, 0.95):.0f} |",
    ] + ([f"| before: fork server, cgroups made, joined and removed per job, {args.jobs} workers | {n_fork} | "
          f"{before_wall:.1f} | {n_fork / before_wall:.1f} | | |"] if before else []) + (
        [f"| fork server, GRADER_BATCH=off (a child per problem-submission), {args.jobs} workers | {n_fork} | "
         f"{alone_wall:.1f} | {n_fork / alone_wall:.1f} | | |"] if args.no_batch else []) + [
        "",
        f"cores this process may use: {cores}; per core: {fork_rate / cores:.1f} problem-submissions per second"
        + (f"; after/before: {before_wall / fork_wall:.2f}x" if before else ""),
        f"CPU counted from: {meter.source}",
        f"CPU per problem-submission (grader + fork server and every job's processes): {1000 * fork_cpu / n_fork:.1f} ms"
        f" = {n_fork / fork_cpu:.1f} per CPU-second (the grader process itself: {1000 * fork_own / n_fork:.1f} ms"
        + (f", unbatched {1000 * alone_own / n_fork:.1f} ms" if args.no_batch else "") + ")"
        + (f"; before: {1000 * before_cpu / n_fork:.1f} ms = {n_fork / before_cpu:.1f} per CPU-second" if before else "")
        + (f"; unbatched: {1000 * alone_cpu / n_fork:.1f} ms = {n_fork / alone_cpu:.1f} per CPU-second; "
           f"batched/unbatched throughput {alone_wall / fork_wall:.2f}x" if args.no_batch else ""),
        f"added latency of the fork server with the sandbox off (GRADER_SANDBOX=off, rlimits only): "
        f"median {statistics.median(bare_added):.0f} ms, p95 {percentile(bare_added, 0.95):.0f} ms",
        f"ratio (throughput, fork server / baseline): {fork_rate / base_rate:.1f}x",
        f"scores: {full}/{len(students)} students with full marks (expected {(len(students) + 1) // 2}); "
        f"baseline and fork server disagree on {len(mismatches)} of {len(base_students)} students",
        "(added latency: wall of executor.run minus time inside the student's calls; fork server measured "
        f"one job at a time over {min(args.latency_students, len(students))} students, baseline from its run)",
    ]
    print("\n".join(lines))
    if mismatches:
        sys.exit(1)


if __name__ == "__main__":
    main()
