"""The local pool against a local Ray cluster: the example class, a synthetic class, overhead per job.

    python benchmarks/bench_ray.py                     # needs Ray: pip install 'grader[ray]'
    python benchmarks/bench_ray.py --students 40 --rounds 3

In one run, interleaved in rounds (so both see the same machine load), through the same code as
`grader grade` (`grader.classes.batch.grade_class`, the same pool of driver threads, the sandbox on):

* **local**: `AutoExecutor` (the warm fork server on this machine), `--jobs` threads (two per core);
* **ray**: `RayExecutor` on a Ray instance started here with `ray.init(num_cpus=<cores>)`, as many
  threads as it holds jobs (two per core at `num_cpus=0.5` a job).

Classes: the README's example class (examples/class on examples/assignment.yaml: five students,
one of whom hits time limits) and a synthetic one (bench_batch.py's: N students on the five card
problems, half right, half with the known mistakes, no two submissions alike).

Overhead per job, measured one job at a time over `--latency-students` students (so queueing
does not count): the wall time of `executor.run(job)` minus the `RunResult.wall` that
`runner.run_with` measured around the children, i.e. what the executor adds on top of running the
job (for Ray: serialising the job, scheduling the task, the worker's checks, sending the result
back). Cold start: `ray.init` and the first class on fresh workers (each starts its template).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_batch import CARD, machine, make_class, percentile  # noqa: E402

from grader.problems.bank import Bank  # noqa: E402
from grader.classes.pool import AutoExecutor, LocalPool, default_jobs
from grader.classes.students import find_students
from grader.classes.batch import grade_class  # noqa: E402
from grader.classes.assignment import load_assignment, parse_assignment  # noqa: E402


class Recording:
    """Wraps an executor; records (wall of run, RunResult.wall) per job."""

    def __init__(self, inner):
        self.inner = inner
        self.records: list[tuple[float, float]] = []
        self._lock = threading.Lock()

    def start(self):
        return self.inner.start()

    def run(self, job):
        start = time.perf_counter()
        result = self.inner.run(job)
        wall = time.perf_counter() - start
        with self._lock:
            self.records.append((wall, result.wall))
        return result


def run_class(assignment, students, bank, executor, jobs: int):
    recording = Recording(executor)
    with LocalPool(jobs) as pool:
        start = time.perf_counter()
        report = grade_class(assignment, students, bank=bank, pool=pool, executor=recording)
        wall = time.perf_counter() - start
    return report, wall, recording.records


def scores(report) -> dict[str, float]:
    return {s.student: s.score for s in report.students}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=20, help="Students in the synthetic class.")
    parser.add_argument("--latency-students", type=int, default=6)
    parser.add_argument("--rounds", type=int, default=2)
    parser.add_argument("--jobs", type=int, default=default_jobs(), help="Driver threads of the local pool.")
    args = parser.parse_args()

    import ray

    from grader.classes.ray_executor import RayExecutor

    bank = Bank()
    example = load_assignment(ROOT / "examples" / "assignment.yaml", bank)
    example_students = find_students(ROOT / "examples" / "class")
    card = parse_assignment({"name": "benchmark", "problems": CARD}, Path("<benchmark>"), bank)
    load_before = os.getloadavg()
    walls = {(side, what): 0.0 for side in ("local", "ray") for what in ("example", "synthetic")}
    verdicts = {"local": [], "ray": []}
    with tempfile.TemporaryDirectory(prefix="grader-bench-ray-") as tmp:
        make_class(Path(tmp, "class"), args.students)
        students = find_students(Path(tmp, "class"))
        start = time.perf_counter()
        ray.init(num_cpus=os.cpu_count(), include_dashboard=False, log_to_driver=False)
        init_s = time.perf_counter() - start
        with AutoExecutor("fork") as local, RayExecutor() as on_ray:
            ray_jobs = on_ray.default_jobs()
            jobs = {"local": (local, args.jobs), "ray": (on_ray, ray_jobs)}
            start = time.perf_counter()
            run_class(example, example_students, bank, on_ray, ray_jobs)
            cold_ray = time.perf_counter() - start
            start = time.perf_counter()
            run_class(example, example_students, bank, local, args.jobs)
            cold_local = time.perf_counter() - start
            for _ in range(max(1, args.rounds)):
                for side, (executor, n) in jobs.items():
                    report, wall, _ = run_class(example, example_students, bank, executor, n)
                    walls[side, "example"] += wall
                    verdicts[side].append(scores(report))
                    report, wall, _ = run_class(card, students, bank, executor, n)
                    walls[side, "synthetic"] += wall
                    verdicts[side].append(scores(report))
            latency = {side: run_class(card, students[:args.latency_students], bank, executor, 1)[2]
                       for side, (executor, _) in jobs.items()}
            retried = on_ray.stats["retried"]
            ray_workers = len(on_ray.workers)
        ray.shutdown()
    load_after = os.getloadavg()

    rounds = max(1, args.rounds)
    n_example = len(example_students) * len(example.problems) * rounds
    n_synthetic = len(students) * len(CARD) * rounds
    overhead = {side: [1000 * (wall - inner) for wall, inner in records] for side, records in latency.items()}
    per_job = {side: [1000 * wall for wall, _ in records] for side, records in latency.items()}
    same = verdicts["local"] == verdicts["ray"]
    lines = [
        f"machine: {machine()}",
        f"load average before/after: {load_before[0]:.1f} / {load_after[0]:.1f} (other work shares these CPUs)",
        f"command: python benchmarks/bench_ray.py --students {args.students} --latency-students "
        f"{args.latency_students} --rounds {rounds} --jobs {args.jobs}",
        f"ray.init (local instance, {os.cpu_count()} CPUs): {init_s:.1f} s; first example class on fresh Ray "
        f"workers (each starts its template): {cold_ray:.1f} s, on the local pool (template start): {cold_local:.1f} s",
        "",
        "| executor | example class: wall (s), problem-submissions | synthetic: wall (s) | synthetic per second "
        "| per job, one at a time: median (ms) | overhead per job: median (ms) | p95 (ms) |",
        "|---|---|---|---|---|---|---|",
    ]
    for side, label in (("local", f"local pool, {args.jobs} threads"), ("ray", f"Ray, {ray_jobs} jobs in flight")):
        lines.append(
            f"| {label} | {walls[side, 'example']:.1f}, {n_example} | {walls[side, 'synthetic']:.1f} | "
            f"{n_synthetic / walls[side, 'synthetic']:.1f} | {statistics.median(per_job[side]):.0f} | "
            f"{statistics.median(overhead[side]):.1f} | {percentile(overhead[side], 0.95):.1f} |")
    lines += [
        "",
        f"(overhead per job: wall of executor.run minus the RunResult's own wall, over "
        f"{len(overhead['ray'])} jobs each; {rounds} interleaved rounds; synthetic class: {args.students} students x "
        f"{len(CARD)} problems)",
        f"same scores for every student on both: {'yes' if same else 'NO'}; Ray jobs retried: {retried}; "
        f"Ray worker processes that ran jobs (each started its own template): {ray_workers}",
    ]
    print("\n".join(lines))
    if not same:
        sys.exit(1)


if __name__ == "__main__":
    main()
