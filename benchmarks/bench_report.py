"""What writing OUT/report.html adds to grading a class.

    python benchmarks/bench_report.py               # the example class, 5 rounds
    python benchmarks/bench_report.py --rounds 9

Each round runs `python -m grader grade examples/class --assignment examples/assignment.yaml
--out TMP --force --no-progress` twice, once with the report and once with --no-report, in
alternating order (so both see the same machine load), each into a fresh folder. Printed: the
wall time of each run, the medians, and the median of the per-round differences. Then, in this
process, the report alone: importing matplotlib, and `write_report` (reading the JSON, the
near-copies, the plots, the page), as CPU seconds (steadier than wall time on a busy machine).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def grade(out: Path, report: bool) -> float:
    cmd = [sys.executable, "-m", "grader", "grade", str(ROOT / "examples" / "class"), "--assignment",
           str(ROOT / "examples" / "assignment.yaml"), "--out", str(out), "--force", "--no-progress",
           "--report" if report else "--no-report"]
    start = time.perf_counter()
    subprocess.run(cmd, check=True, capture_output=True, env={**os.environ, "PYTHONPATH": str(ROOT)})
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    with_report, without, diffs = [], [], []
    with tempfile.TemporaryDirectory() as tmp:
        for i in range(args.rounds):
            order = (True, False) if i % 2 == 0 else (False, True)
            times = {}
            for report in order:
                times[report] = grade(Path(tmp) / f"r{i}-{report}", report)
            with_report.append(times[True])
            without.append(times[False])
            diffs.append(times[True] - times[False])
            print(f"round {i + 1}: with report {times[True]:.2f} s, without {times[False]:.2f} s", flush=True)
        med_with, med_without = statistics.median(with_report), statistics.median(without)
        print(f"median: with report {med_with:.2f} s, without {med_without:.2f} s: "
              f"+{100 * (med_with - med_without) / med_without:.1f}% "
              f"(median per-round difference {statistics.median(diffs):+.2f} s)")

        sys.path.insert(0, str(ROOT))
        from grader.report import get_plots, write_report

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
