"""What the sandbox costs one child: the time of `sandbox.confine` (namespaces, filesystem view,
privilege drop, cgroups, rlimits), with and without torch already imported (the fork server's
case), against GRADER_SANDBOX=off (rlimits only).

    python benchmarks/sandbox_cost.py [REPEATS]

It then grades examples/sigmoid-backward/correct.py REPEATS times on a warm fork server
(grader.sandbox.forkserver), with the sandbox off and on: the whole cost per submission where it matters most.

As in `runner.run_with`, this process makes the work folder and the Box (cgroups) and passes
the child its config; each child is a fresh `python -I` that times `confine` and prints the
result from the worker, the process that would run the student's code.
"""
from __future__ import annotations

import json
import statistics
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from grader.sandbox import confine as sandbox  # noqa: E402
from grader.limits import Limits  # noqa: E402

CODE = r"""
import json, os, sys, time
sys.path.insert(0, {root!r})
if {torch}:
    import torch
from grader import sandbox
limits, workdir, config = json.loads(sys.argv[1])
start = time.perf_counter()
sandbox.confine(limits, workdir, config)
print(json.dumps([time.perf_counter() - start, sandbox.APPLIED]), flush=True)
os._exit(0)
"""


def once(mode: str, torch: bool) -> tuple[float, list]:
    limits = Limits()
    workdir = sandbox.make_workdir({"solution.py": b"x = 1\n"})
    box = sandbox.prepare(limits, workdir)
    try:
        config = dict(sandbox.child_config(workdir), mode=mode, keep_fds=[0, 1, 2])
        proc = subprocess.run([sys.executable, "-I", "-c", CODE.format(root=str(ROOT), torch=torch),
                               json.dumps([limits.as_dict(), workdir, config])],
                              capture_output=True, text=True, cwd=workdir, env=sandbox.child_env(workdir))
        if proc.returncode != 0 or not proc.stdout.strip():
            raise SystemExit(f"child failed: {proc.returncode}\n{proc.stderr}")
        seconds, applied = json.loads(proc.stdout)
    finally:
        box.cleanup()
        sandbox.remove_workdir(workdir)
    return seconds, applied


def main() -> None:
    repeats = int(sys.argv[1]) if len(sys.argv) > 1 else 10
    for torch in (False, True):
        for mode in ("off", "on"):
            runs = [once(mode, torch) for _ in range(repeats)]
            ms = [s * 1000 for s, _ in runs]
            print(f"torch imported: {torch!s:<5}  GRADER_SANDBOX={mode:<3}  confine median {statistics.median(ms):6.1f} ms"
                  f" (min {min(ms):.1f}, max {max(ms):.1f}, n={repeats});  applied: {', '.join(runs[0][1])}")
    fork_server(repeats)


FORK_SERVER = r"""
import statistics, sys, time
sys.path.insert(0, {root!r})
from grader.sandbox.forkserver import ForkServerExecutor
from grader.grading import grade
executor = ForkServerExecutor()
path = {path!r}
grade("sigmoid-backward", path, executor=executor)  # warm up
times = []
for _ in range({repeats}):
    start = time.perf_counter()
    result = grade("sigmoid-backward", path, executor=executor)
    times.append(time.perf_counter() - start)
    assert result.score == result.max_score, result
print(f"{{statistics.median(times) * 1000:.0f}} {{min(times) * 1000:.0f}}")
"""


def fork_server(repeats: int) -> None:
    import os

    path = str(ROOT / "examples" / "sigmoid-backward" / "correct.py")
    for mode in ("off", "on"):
        proc = subprocess.run([sys.executable, "-c", FORK_SERVER.format(root=str(ROOT), path=path, repeats=repeats)],
                              capture_output=True, text=True, env=dict(os.environ, GRADER_SANDBOX=mode))
        if proc.returncode != 0:
            print(f"fork server, GRADER_SANDBOX={mode}: failed\n{proc.stderr[-2000:]}")
            continue
        median, best = proc.stdout.split()
        print(f"fork server, GRADER_SANDBOX={mode:<3}  grading a correct submission: median {median} ms (min {best}, n={repeats})")


if __name__ == "__main__":
    main()
