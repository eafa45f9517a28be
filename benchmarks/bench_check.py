"""How long one `grader check` takes against its floor, one `python -c "import torch"`.

    python benchmarks/bench_check.py               # 7 rounds
    python benchmarks/bench_check.py --rounds 15
    python benchmarks/bench_check.py --also /tmp/before   # and another checkout's grader, same rounds

Each round runs, one after the other and in alternating order (so both see the same machine
load), `python -m grader check sigmoid-backward examples/sigmoid-backward/correct.py` (this
checkout's grader, from the repository root) and `python -c "import torch"`, and takes their
wall times. Printed: every round, both medians, the ratio of the medians (issue #18 asks for
`grader check` within 1.2x of the torch import) and the load average before and after (on a
shared machine the ratio grows with the load: two processes import torch at once, see
docs/benchmarks.md). A check that does not exit 0 stops the run.

The first, uncounted check fills the expected-outputs cache (grader/problems/expected_cache.py)
as a student's first check does; `--cold-cache` gives every check an empty cache folder instead.
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
CHECK = [sys.executable, "-m", "grader", "check", "sigmoid-backward", "examples/sigmoid-backward/correct.py"]
IMPORT_TORCH = [sys.executable, "-c", "import torch"]


def wall_seconds(command: list[str], cache: str | None = None, root: Path = ROOT) -> float:
    env = dict(os.environ, PYTHONPATH=str(root))
    if cache:
        env["GRADER_CACHE_DIR"] = cache
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode != 0:
        sys.exit(f"{' '.join(command[1:])} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="rounds of both commands (default 7)")
    parser.add_argument("--cold-cache", action="store_true", help="an empty expected-outputs cache for every check")
    parser.add_argument("--also", type=Path, metavar="CHECKOUT",
                        help="also time `grader check` of this checkout (e.g. the commit before a change) in each round")
    args = parser.parse_args()
    rounds = args.rounds
    print(f"load average before: {load_average()}", flush=True)
    wall_seconds(IMPORT_TORCH)  # a first import fills the page cache; not counted
    with tempfile.TemporaryDirectory(prefix="bench-check-") as scratch:
        cache = str(Path(scratch, "cache"))
        wall_seconds(CHECK, cache)  # nor is the first check: it fills the page cache and the expected outputs' cache
        if args.also:
            wall_seconds(CHECK, cache, args.also)
        checks, imports, others = [], [], []
        for i in range(rounds):
            if args.cold_cache:
                cache = tempfile.mkdtemp(dir=scratch)
            runs = [(CHECK, checks, ROOT), (IMPORT_TORCH, imports, ROOT)]
            if args.also:
                runs.append((CHECK, others, args.also))
            for command, times, root in runs if i % 2 == 0 else runs[::-1]:
                times.append(wall_seconds(command, cache if command is CHECK else None, root))
            also = f", {args.also}: {others[-1]:.2f} s" if args.also else ""
            print(f"round {i + 1}/{rounds}: grader check {checks[-1]:.2f} s, import torch {imports[-1]:.2f} s{also}",
                  flush=True)
    check, torch = statistics.median(checks), statistics.median(imports)
    print(f"\ngrader check sigmoid-backward correct.py: median {check:.2f} s "
          f"(min {min(checks):.2f}, max {max(checks):.2f})")
    print(f"python -c 'import torch':               median {torch:.2f} s "
          f"(min {min(imports):.2f}, max {max(imports):.2f})")
    print(f"ratio of the medians: {check / torch:.2f}x "
          f"(per round: median {statistics.median(c / t for c, t in zip(checks, imports)):.2f}x)")
    if args.also:
        other = statistics.median(others)
        print(f"grader check of {args.also}: median {other:.2f} s (min {min(others):.2f}, max {max(others):.2f}), "
              f"{other / torch:.2f}x the torch import")
    print(f"load average after: {load_average()}")


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" (1, 5, 15 min; {os.cpu_count()} CPUs)"


if __name__ == "__main__":
    main()
