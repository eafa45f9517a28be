"""How long one `grader check` takes against its floor, one `python -c "import torch"`.

    python benchmarks/bench_check.py               # 7 rounds
    python benchmarks/bench_check.py --rounds 15

Each round runs, one after the other and in alternating order (so both see the same machine
load), `python -m grader check sigmoid-backward examples/sigmoid-backward/correct.py` (this
checkout's grader, from the repository root) and `python -c "import torch"`, and takes their
wall times. Printed: every round, both medians and the ratio of the medians (issue #18 asks for
`grader check` within 1.2x of the torch import). A check that does not exit 0 stops the run.
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHECK = [sys.executable, "-m", "grader", "check", "sigmoid-backward", "examples/sigmoid-backward/correct.py"]
IMPORT_TORCH = [sys.executable, "-c", "import torch"]


def wall_seconds(command: list[str]) -> float:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=ROOT, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(command[1:])} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="rounds of both commands (default 7)")
    rounds = parser.parse_args().rounds
    wall_seconds(IMPORT_TORCH)  # a first import fills the page cache; not counted
    checks, imports = [], []
    for i in range(rounds):
        pair = [(CHECK, checks), (IMPORT_TORCH, imports)]
        for command, times in pair if i % 2 == 0 else pair[::-1]:
            times.append(wall_seconds(command))
        print(f"round {i + 1}/{rounds}: grader check {checks[-1]:.2f} s, import torch {imports[-1]:.2f} s",
              flush=True)
    check, torch = statistics.median(checks), statistics.median(imports)
    print(f"\ngrader check sigmoid-backward correct.py: median {check:.2f} s "
          f"(min {min(checks):.2f}, max {max(checks):.2f})")
    print(f"python -c 'import torch':               median {torch:.2f} s "
          f"(min {min(imports):.2f}, max {max(imports):.2f})")
    print(f"ratio of the medians: {check / torch:.2f}x")


if __name__ == "__main__":
    main()
