"""What writing OUT/report.html adds to grading a class.

    python benchmarks/bench_report.py               # the example class, 5 rounds
    python benchmarks/bench_report.py --rounds 9
    python benchmarks/bench_report.py --no-warm-up  # matplotlib imported after grading, not during it

Each round runs `python -m grader grade examples/class --assignment examples/assignment.yaml
--out TMP --force --no-progress` twice, once with the report and once with --no-report, in
alternating order (so both see the same machine load), each into a fresh folder. Printed: the
wall time and the CPU time (user + system, the grader and every process it waited for) of each
run, the medians, and the median of the per-round differences. Then, in this
process, the report alone: importing matplotlib, and `write_report` (reading the JSON, the
near-copies, the plots, the page), as CPU seconds (steadier than wall time on a busy machine).
"""
from __future__ import annotations

import argparse
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cpu_meter import CpuMeter

ROOT = Path(__file__).resolve().parent.parent


# Runs `grader grade` with the report step timed: the wall seconds from the end of grading to the
# page written, printed on stderr (how long the command runs longer because of the report).
TIMED = """
import sys, time
import grader.classes.report as report
from grader.cli.main import main
inner = report.write_report_after_grading
def timed(*args, **kwargs):
    start = time.perf_counter()
    try:
        return inner(*args, **kwargs)
    finally:
        print(f"REPORT-STEP {time.perf_counter() - start:.3f}", file=sys.stderr)
report.write_report_after_grading = timed
if "--no-warm-up" in sys.argv:  # the comparison: matplotlib imported only after grading
    sys.argv.remove("--no-warm-up")
    report.warm_up_in_background = lambda: None
sys.argv = ["grader"] + sys.argv[1:]
main()
"""


WARM_UP = True
METER: CpuMeter | None = None  #: counts each `grader grade` with its sandboxed children (see cpu_meter.py)


def grade(out: Path, report: bool) -> tuple[float, float, float, float]:
    """-> wall, CPU, grading's own wall (the summary's "in N s"), the report step's wall."""
    cmd = [sys.executable, "-c", TIMED, "grade", str(ROOT / "examples" / "class"), "--assignment",
           str(ROOT / "examples" / "assignment.yaml"), "--out", str(out), "--force", "--no-progress",
           "--report" if report else "--no-report"] + ([] if WARM_UP else ["--no-warm-up"])
    before = METER.read()
    start = time.perf_counter()
    proc = subprocess.run(cmd, check=True, capture_output=True, text=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    wall = time.perf_counter() - start
    grading = float(re.search(r"problem-submissions in ([0-9.]+) s", proc.stdout).group(1))
    step = re.search(r"REPORT-STEP ([0-9.]+)", proc.stderr)
    return wall, METER.read() - before, grading, \
        float(step.group(1)) if step else 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--no-warm-up", action="store_true",
                        help="import matplotlib after grading instead of in a background thread during it")
    args = parser.parse_args()
    global WARM_UP, METER
    WARM_UP = not args.no_warm_up
    runs = {True: [], False: []}
    with CpuMeter() as METER, tempfile.TemporaryDirectory() as tmp:
        for i in range(args.rounds):
            order = (True, False) if i % 2 == 0 else (False, True)
            for report in order:
                runs[report].append(grade(Path(tmp) / f"r{i}-{report}", report))
            (w1, c1, g1, r1), (w0, c0, g0, _) = runs[True][-1], runs[False][-1]
            print(f"round {i + 1}: with report {w1:.2f} s wall {c1:.2f} s CPU (grading {g1:.2f} s, report step "
                  f"{r1:.2f} s), without {w0:.2f} s wall {c0:.2f} s CPU (grading {g0:.2f} s)", flush=True)
        print(f"CPU counted from: {METER.source}")
        steps = [r[3] / r[2] for r in runs[True]]
        print(f"report step after grading: median {100 * statistics.median(steps):.1f}% of grading's wall time "
              f"in the same run (max {100 * max(steps):.1f}%)")
        for what, k in (("wall", 0), ("CPU", 1), ("grading's own wall", 2)):
            with_, without_ = [r[k] for r in runs[True]], [r[k] for r in runs[False]]
            m1, m0 = statistics.median(with_), statistics.median(without_)
            diff = statistics.median(a - b for a, b in zip(with_, without_))
            print(f"median {what}: with report {m1:.2f} s, without {m0:.2f} s: {100 * (m1 - m0) / m0:+.1f}% "
                  f"(median per-round difference {diff:+.2f} s, {100 * diff / m0:+.1f}%)")
        med_without = statistics.median(r[0] for r in runs[False])

        sys.path.insert(0, str(ROOT))
        from grader.classes.report import get_plots, write_report

        start = time.process_time()
        get_plots()
        imported = time.process_time() - start
        out = Path(tmp) / f"r0-True"
        start = time.process_time()
        write_report(out, submissions=ROOT / "examples" / "class")
        written = time.process_time() - start
        print(f"in process: import matplotlib {imported:.2f} s CPU, write_report {written:.2f} s CPU "
              f"({100 * (imported + written) / med_without:.1f}% of the median grading wall time without it; "
              "the import overlaps grading in `grader grade`)")


if __name__ == "__main__":
    main()
