"""How long one `grader check` takes against its floor, one `python -c "import torch"`.

    python benchmarks/bench_check.py               # 7 rounds
    python benchmarks/bench_check.py --rounds 15
    python benchmarks/bench_check.py --also /tmp/before   # and another checkout's grader, same rounds
    python benchmarks/bench_check.py --no-child           # and a check that runs no child (a syntax error)
    python benchmarks/bench_check.py --no-bytecode-cache  # the grader's modules compiled afresh every run

Each round runs, one after the other and in alternating order (so both see the same machine
load), `python -m grader check sigmoid-backward examples/sigmoid-backward/correct.py` (this
checkout's grader, from the repository root) and `python -c "import torch"`, and takes their
wall times. Printed: every round, both medians, the ratio of the medians (issue #18 asks for
`grader check` within 1.2x of the torch import) and the load average before and after (on a
shared machine the ratio grows with the load: two processes import torch at once, see
docs/benchmarks.md). A check that does not exit 0 stops the run.

The first, uncounted check fills the expected-outputs cache (grader/problems/expected_cache.py)
as a student's first check does; `--cold-cache` gives every check an empty cache folder instead.
It also writes the grader's compiled bytecode (__pycache__, git-ignored), as an installed grader
has it (pip compiles at install) and a checkout's first run writes it: PYTHONDONTWRITEBYTECODE is
taken out of the checks' environment. With it set and no bytecode to read (`--no-bytecode-cache`,
what this script measured before) every check compiles the engine's modules again, 0.15-0.3 s
more on a 2-core machine. `--no-child` also times `grader check` of a submission with a syntax
error (no child runs: issue 18 asks that it not wait for the child's template to finish starting).
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


NO_BYTECODE: str | None = None  #: a folder with no bytecode in it, when the checks must compile every module


def wall_seconds(command: list[str], cache: str | None = None, root: Path = ROOT, ok=(0,)) -> float:
    env = dict(os.environ, PYTHONPATH=str(root))
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if NO_BYTECODE:
        env.update(PYTHONDONTWRITEBYTECODE="1", PYTHONPYCACHEPREFIX=NO_BYTECODE)
    if cache:
        env["GRADER_CACHE_DIR"] = cache
    start = time.perf_counter()
    proc = subprocess.run(command, cwd=root, env=env, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if proc.returncode not in ok:
        sys.exit(f"{' '.join(command[1:])} exited {proc.returncode}:\n{proc.stdout}{proc.stderr}")
    return seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7, help="rounds of both commands (default 7)")
    parser.add_argument("--cold-cache", action="store_true", help="an empty expected-outputs cache for every check")
    parser.add_argument("--also", type=Path, metavar="CHECKOUT",
                        help="also time `grader check` of this checkout (e.g. the commit before a change) in each round")
    parser.add_argument("--no-child", action="store_true",
                        help="also time a check of a syntax error (no child runs) in each round")
    parser.add_argument("--no-bytecode-cache", action="store_true",
                        help="PYTHONDONTWRITEBYTECODE=1 and no bytecode to read: every check compiles the engine")
    args = parser.parse_args()
    rounds = args.rounds
    print(f"load average before: {load_average()}", flush=True)
    wall_seconds(IMPORT_TORCH)  # a first import fills the page cache; not counted
    with tempfile.TemporaryDirectory(prefix="bench-check-") as scratch:
        global NO_BYTECODE
        if args.no_bytecode_cache:
            NO_BYTECODE = str(Path(scratch, "no-bytecode"))
        cache = str(Path(scratch, "cache"))
        broken = Path(scratch, "syntax_error.py")
        broken.write_text("def sigmoid_backward(x, grad_output)\n    return x\n")
        no_child = CHECK[:-1] + [str(broken)]
        # Nor is the first check counted: it fills the page cache, the expected outputs' cache and
        # (unless --no-bytecode-cache) the bytecode cache.
        for root in [ROOT] + ([args.also] if args.also else []):
            wall_seconds(CHECK, cache, root)
        checks, imports, others, static, static_others = [], [], [], [], []
        for i in range(rounds):
            if args.cold_cache:
                cache = tempfile.mkdtemp(dir=scratch)
            runs = [(CHECK, checks, ROOT), (IMPORT_TORCH, imports, ROOT)]
            if args.also:
                runs.append((CHECK, others, args.also))
            if args.no_child:
                runs.append((no_child, static, ROOT))
                if args.also:
                    runs.append((no_child, static_others, args.also))
            for command, times, root in runs if i % 2 == 0 else runs[::-1]:
                ok = (0,) if command is not no_child else (1,)
                times.append(wall_seconds(command, cache if command is not IMPORT_TORCH else None, root, ok))
            also = f", {args.also}: {others[-1]:.2f} s" if args.also else ""
            if args.no_child:
                also += f", no child: {static[-1]:.2f} s" + (f" ({args.also}: {static_others[-1]:.2f} s)"
                                                              if args.also else "")
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
    if args.no_child:
        print(f"a check that runs no child (syntax error): median {statistics.median(static):.2f} s, "
              f"{statistics.median(static) / torch:.2f}x the torch import"
              + (f"; {args.also}: {statistics.median(static_others):.2f} s" if args.also else ""))
    print("bytecode: " + ("none, every check compiles the engine (--no-bytecode-cache)" if args.no_bytecode_cache
                          else "the grader's compiled modules are read, as an installed grader's are"))
    print(f"load average after: {load_average()}")


def load_average() -> str:
    return " ".join(f"{x:.2f}" for x in os.getloadavg()) + f" (1, 5, 15 min; {os.cpu_count()} CPUs)"


if __name__ == "__main__":
    main()
