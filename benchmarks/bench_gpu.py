"""Grading on the GPU: CPU cases against CUDA cases, per submission and per class.

    python benchmarks/bench_gpu.py                          # 40 students x the card problems, cpu then cuda
    python benchmarks/bench_gpu.py --students 100 --devices cpu,cuda --jobs 8

The synthetic class of benchmarks/bench_batch.py (half the students right, half with the known
mistakes) is graded through the warm fork server (the `grader grade` path) once per device,
with `--device cpu` and then `--device cuda`, on the card problems that list both devices.
Reported per device:

* throughput: problem-submissions per second of wall time with `--jobs` workers;
* time per submission: the wall time of `executor.run(job)` for one problem-submission, one job
  at a time, which for CUDA includes the child's CUDA start-up (each submission is its own
  process with its own CUDA context: nothing is shared between students);
* the speed test of `attention` (long-sequence): the reference's time and a correct student's,
  on that device.

Both devices are graded in the same run, so their ratio is comparable; absolute figures depend
on the machine. Exits 2 when a requested device is not available here.
"""
from __future__ import annotations

import argparse
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from bench_batch import CARD, Recording, machine, make_class, percentile  # noqa: E402
from grader.problems.bank import Bank  # noqa: E402
from grader.classes.pool import LocalPool, default_jobs
from grader.classes.students import find_students
from grader.classes.batch import grade_class
from grader.classes.assignment import parse_assignment  # noqa: E402
from grader.sandbox.devices import devices_here  # noqa: E402
from grader.sandbox.forkserver import ForkServerExecutor  # noqa: E402
from grader.kinds.function import performance  # noqa: E402


def gpu_model() -> str:
    """The GPU's name from nvidia-smi (asking torch would start CUDA in this process)."""
    if not shutil.which("nvidia-smi"):
        return "no nvidia-smi"
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name,driver_version,memory.total", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.SubprocessError) as exc:
        return f"nvidia-smi failed: {exc}"
    return out.splitlines()[0] if out else "unknown GPU"


def grade(assignment, students, bank, executor, jobs: int, device: str):
    recording = Recording(executor)
    with LocalPool(jobs) as pool:
        report = grade_class(assignment, students, bank=bank, pool=pool, executor=recording, device=device)
    return report, recording.records


def speed_figures(report, device: str) -> str:
    """The attention speed test's times for the first student who passed it."""
    name = "long-sequence (speed)" if device == "cpu" else f"long-sequence [{device}] (speed)"
    for student in report.students:
        for problem in student.problems:
            for test in problem.tests:
                if test.name == name and test.timing and test.passed:
                    t = test.timing
                    return (f"reference {performance.describe(t['reference_seconds'])}, a correct student "
                            f"{performance.describe(t['seconds'])} ({t['ratio']:.1f}x)")
    return "no student passed it"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=40)
    parser.add_argument("--latency-students", type=int, default=6)
    parser.add_argument("--jobs", type=int, default=default_jobs())
    parser.add_argument("--devices", default="cpu,cuda", help="Comma-separated: cpu, cuda.")
    args = parser.parse_args()
    devices = [d.strip() for d in args.devices.split(",") if d.strip()]
    missing = [d for d in devices if d not in devices_here(d)]
    if missing:
        print(f"not available here: {', '.join(missing)} (CUDA is detected through NVML); "
              "run with --devices cpu, or on a machine with a GPU", file=sys.stderr)
        sys.exit(2)

    bank = Bank()
    problems = [p for p in CARD if "cuda" in bank.get(p).spec.get("devices", [])]
    assignment = parse_assignment({"name": "gpu-benchmark", "problems": problems}, Path("<benchmark>"), bank)
    rows, speed = [], {}
    with tempfile.TemporaryDirectory(prefix="grader-bench-gpu-") as tmp, ForkServerExecutor() as fork:
        make_class(Path(tmp, "class"), args.students)
        students = find_students(Path(tmp, "class"))
        grade(assignment, students[:2], bank, fork, args.jobs, devices[0])  # warm-up: template, references
        for device in devices:
            start = time.perf_counter()
            report, _ = grade(assignment, students, bank, fork, args.jobs, device)
            wall = time.perf_counter() - start
            _, records = grade(assignment, students[:args.latency_students], bank, fork, 1, device)
            per_job = [1000 * w for w, _ in records]
            n = len(students) * len(problems)
            full = sum(1 for s in report.students if s.score == s.max_score)
            rows.append(f"| {device} | {n} | {wall:.1f} | {n / wall:.1f} | {statistics.median(per_job):.0f} | "
                        f"{percentile(per_job, 0.95):.0f} | {full}/{len(students)} |")
            speed[device] = speed_figures(report, device)

    lines = [
        f"machine: {machine()}",
        f"GPU: {gpu_model()}" + (f" (CUDA_VISIBLE_DEVICES={os.environ['CUDA_VISIBLE_DEVICES']})"
                                 if "CUDA_VISIBLE_DEVICES" in os.environ else ""),
        f"command: python benchmarks/bench_gpu.py --students {args.students} --latency-students "
        f"{args.latency_students} --jobs {args.jobs} --devices {','.join(devices)}",
        f"problems: {', '.join(problems)}",
        "",
        "| device | problem-submissions | wall (s) | per second | per submission median (ms) | p95 (ms) | full marks |",
        "|---|---|---|---|---|---|---|",
        *rows,
        "",
        "(per submission: executor.run for one problem-submission, one at a time; on cuda it includes the",
        " child's CUDA start-up. Full marks expected for half the students.)",
        "attention speed test (long-sequence): " + "; ".join(f"{d}: {s}" for d, s in speed.items()),
    ]
    print("\n".join(lines))


if __name__ == "__main__":
    main()
