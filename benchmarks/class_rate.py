"""One class run of the card problems on the fork server: its rate and CPU per problem-submission.

    python benchmarks/class_rate.py STUDENTS [JOBS]
    ROOT=/tmp/other-checkout python benchmarks/class_rate.py 100      # another checkout, same script

Grades STUDENTS synthetic students (bench_batch.py's class: half correct, half with the known
mistakes) after a 2-student warm-up, with JOBS pool slots (default 4), and prints problem-
submissions per second and the CPU per problem-submission: the grader process's own share and
the rest (template, cgroup templates and every job's processes), counted as cpu_meter.py says. Short enough to run
alternately against another checkout (`ROOT`), or under `taskset -c 0` for one core.
"""
import os
import sys
import tempfile
from pathlib import Path

ROOT = os.environ.get("ROOT") or str(Path(__file__).resolve().parent.parent)
sys.path.insert(0, ROOT)
sys.path.insert(0, ROOT + "/benchmarks")
import bench_batch as bb  # noqa: E402
from cpu_meter import CpuMeter, own_cpu_seconds  # noqa: E402
from grader.problems.bank import Bank  # noqa: E402
from grader.classes.students import find_students  # noqa: E402
from grader.classes.assignment import parse_assignment  # noqa: E402
from grader.sandbox.forkserver import ForkServer, ForkServerExecutor  # noqa: E402

N = int(sys.argv[1])
jobs = int(sys.argv[2]) if len(sys.argv) > 2 else 4
bank = Bank()
assignment = parse_assignment({"name": "benchmark", "problems": bb.CARD}, Path("<benchmark>"), bank)
with tempfile.TemporaryDirectory(prefix="grader-bench-") as tmp:
    bb.make_class(Path(tmp, "class"), N + 2)
    students = find_students(Path(tmp, "class"))
    with CpuMeter() as meter, ForkServerExecutor(ForkServer(huge_pages=True)) as executor:  # as `grader grade` does from 100 jobs
        bb.run_class(assignment, students[:2], bank, executor, jobs)  # warm-up: template, cgroups, caches
        cpu, own = meter.read(), own_cpu_seconds()
        report, wall, _ = bb.run_class(assignment, students[2:], bank, executor, jobs)
        cpu, own = meter.read() - cpu, own_cpu_seconds() - own
jobs_done = N * len(bb.CARD)
full = sum(1 for s in report.students if s.score == s.max_score)
print(f"{os.path.basename(ROOT)}: {N} students, {jobs} slots: {jobs_done / wall:.1f} problem-submissions/s, "
      f"CPU {1000 * cpu / jobs_done:.1f} ms each (grader {1000 * own / jobs_done:.1f}, "
      f"children {1000 * (cpu - own) / jobs_done:.1f}); full marks {full}/{N}; load {os.getloadavg()[0]:.1f}; "
      f"CPU from {meter.source}")
