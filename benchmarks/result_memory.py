"""Peak memory of the grader process for one job whose child returns a big tensor per case.

    python benchmarks/result_memory.py [MB_PER_CASE] [RESULT_MB]

Grades a `sigmoid-backward` submission that returns MB_PER_CASE of float32 on every case, with
`result_mb` set to RESULT_MB, in this process (children as usual), and prints this process's peak
resident memory. The job's results are capped at RESULT_MB for all its children together, so the
peak stays near RESULT_MB plus the grader's own footprint whatever MB_PER_CASE and the number of
cases are. (Before the cap was per job, every restarted child got a fresh RESULT_MB.)
"""
from __future__ import annotations

import resource
import sys
import tempfile
import time
from pathlib import Path

from grader.grading import grade
from grader.limits import Limits

SOURCE = """
import torch


def sigmoid_backward(x, grad_output):
    return torch.zeros({n})
"""


def main() -> None:
    mb_per_case = int(sys.argv[1]) if len(sys.argv) > 1 else 50
    result_mb = int(sys.argv[2]) if len(sys.argv) > 2 else 128
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp, "big.py")
        path.write_text(SOURCE.format(n=mb_per_case * (1 << 20) // 4))
        start = time.monotonic()
        result = grade("sigmoid-backward", path, limits=Limits(result_mb=result_mb))
        seconds = time.monotonic() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
    read = sum(t.outcome == "wrong" for t in result.tests)
    print(f"{mb_per_case} MB per case, result_mb {result_mb}: {len(result.tests)} cases, {read} read back, "
          f"grader peak RSS {peak} MB (before grading: {before} MB), {seconds:.1f} s")


if __name__ == "__main__":
    main()
