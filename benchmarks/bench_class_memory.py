"""Memory of the grader process during a class run: students are read one at a time.

    python benchmarks/bench_class_memory.py                      # 24 students x 16 MB of code
    python benchmarks/bench_class_memory.py --students 40 --mb 16 --jobs 2

Synthetic class: N student folders, each with a correct conv.py and `--mb` MB of other .py
files (string literals, cheap to parse, each file under the 5 MB limit), every student's files
different. Prints the grader process's resident memory (VmHWM, the peak) before and after
grading the class; the children's memory is their own and is not counted. Before issue 11 every
student's files were held until the whole class was done (peak grew with N x MB); now only the
students of the jobs in flight are (about 2 x --jobs students).
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.problems.bank import Bank  # noqa: E402
from grader.classes.pool import AutoExecutor, LocalPool
from grader.classes.students import find_students
from grader.classes.batch import grade_class
from grader.classes.assignment import parse_assignment  # noqa: E402


def peak_mb() -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def make_class(root: Path, n: int, mb: int) -> None:
    correct = (ROOT / "examples" / "conv-output-size" / "correct.py").read_text()
    for i in range(n):
        folder = root / f"student{i:03d}"
        folder.mkdir(parents=True)
        (folder / "conv.py").write_text(correct)
        left, part = mb << 20, 0
        while left > 0:
            size = min(left, 4 << 20)
            (folder / f"blob{part}.py").write_text(f"BLOB = '{i:03d}" + "x" * (size - 20) + "'\n")
            left, part = left - size, part + 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=24)
    parser.add_argument("--mb", type=int, default=16, help="MB of code per student")
    parser.add_argument("--jobs", type=int, default=2)
    args = parser.parse_args()
    bank = Bank()
    assignment = parse_assignment({"name": "memory", "problems": [{"id": "conv-output-size", "file": "conv.py"}]},
                                  Path("<bench>"), bank)
    with tempfile.TemporaryDirectory() as tmp:
        make_class(Path(tmp, "class"), args.students, args.mb)
        students = find_students(Path(tmp, "class"))
        bank.load_callable(assignment.problems[0].problem.spec["reference"])  # imports done before the baseline
        before = peak_mb()
        start = time.monotonic()
        with AutoExecutor() as executor, LocalPool(args.jobs) as pool:
            report = grade_class(assignment, students, bank=bank, pool=pool, executor=executor)
        wall = time.monotonic() - start
    full = sum(s.score == s.max_score for s in report.students)
    print(f"{args.students} students x {args.mb} MB of code, --jobs {args.jobs}: {full} full marks in {wall:.1f} s")
    print(f"grader peak resident memory: {before:.0f} MB before grading, {peak_mb():.0f} MB after "
          f"(+{peak_mb() - before:.0f} MB; the class's files total {args.students * args.mb} MB)")


if __name__ == "__main__":
    main()
