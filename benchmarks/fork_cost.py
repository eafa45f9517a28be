"""What a fork costs in a process that has imported torch, with and without huge pages.

    python benchmarks/fork_cost.py [--forks 100]

A class run forks several processes per student from the fork server's template (its cgroup's
template, the child, its init, the worker, one per problem). Each fork copies the page tables of
the parent's private memory (torch and Python: about 140 MB), and each exit frees them. The
template of a class collapses that memory into 2 MB pages (`forkserver._back_with_huge_pages`).
This prints the CPU of fork + _exit + wait (parent and child together) for: a process that has
imported what the template imports, the same after collapsing, and a child of the collapsed
process after it has worked a little (its writes split some huge pages again).
"""
from __future__ import annotations

import argparse
import gc
import json
import os
import resource
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from grader.sandbox import forkserver  # noqa: E402


def cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def huge_kb() -> int:
    for line in Path("/proc/self/smaps_rollup").read_text().splitlines():
        if line.startswith("AnonHugePages:"):
            return int(line.split()[1])
    return 0


def fork_cost(forks: int) -> tuple[float, float]:
    """(CPU ms, wall ms) per fork + _exit + wait."""
    cpu, wall = cpu_seconds(), time.perf_counter()
    for _ in range(forks):
        pid = os.fork()
        if pid == 0:
            os._exit(0)
        os.waitpid(pid, 0)
    return 1000 * (cpu_seconds() - cpu) / forks, 1000 * (time.perf_counter() - wall) / forks


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--forks", type=int, default=100)
    args = parser.parse_args()
    import numpy.random  # noqa: F401 - what the template imports
    import torch

    gc.collect()
    gc.freeze()
    rows = [("torch imported (a check's template)", *fork_cost(args.forks), huge_kb())]
    start = time.perf_counter()
    forkserver._back_with_huge_pages()
    collapse = time.perf_counter() - start
    rows.append(("the same, memory collapsed into huge pages (a class's template)", *fork_cost(args.forks), huge_kb()))
    read, write = os.pipe()
    pid = os.fork()
    if pid == 0:  # a descendant that has done some work, as a job's worker has
        json.loads(json.dumps({str(i): list(range(50)) for i in range(2000)}))
        (torch.randn(100, 100) @ torch.randn(100, 100)).sum().item()
        os.write(write, json.dumps([*fork_cost(args.forks), huge_kb()]).encode())
        os._exit(0)
    os.waitpid(pid, 0)
    rows.append(("a child of that one, after some Python and a torch op", *json.loads(os.read(read, 1 << 16))))
    print(f"Linux {os.uname().release}, torch {torch.__version__}; collapsing took {collapse:.2f} s; "
          f"{args.forks} forks each (python benchmarks/fork_cost.py --forks {args.forks})\n")
    print("| process | CPU per fork + exit (ms) | wall (ms) | huge pages (MB) |\n|---|---|---|---|")
    for label, cpu, wall, kb in rows:
        print(f"| {label} | {cpu:.1f} | {wall:.1f} | {kb >> 10} |")


if __name__ == "__main__":
    main()
