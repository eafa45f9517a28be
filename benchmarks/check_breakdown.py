"""Where the time of one `grader check` goes, phase by phase, in this process.

    python benchmarks/check_breakdown.py [PROBLEM [FILE]] [--executor fresh|warm] [--repeat N]
    python benchmarks/check_breakdown.py [PROBLEM [FILE]] --timeline N

`--timeline N`: the real `grader check` as a separate process (N runs, interleaved with `python -c
"import torch"`), each event's time since the process was launched: the template's and the
sandbox probe's starts, the grader's torch import, the job, the child's frames, the template's
shutdown, the output and the process's end (exit included: after `import torch` a normal
interpreter exit costs 0.4-0.6 s, which `grader check` skips and `python -c "import torch"` pays).

Runs what `grader check PROBLEM FILE` runs (default: sigmoid-backward and its correct example),
with a clock read between the phases: the parent's imports, the bank and spec, the submission,
the expected outputs (the reference on each case; gradcheck's finite differences apart), the
child's run (from the launch to its `ready` frame, then the cases until `done`), the
comparisons (and the reference's speed timing, apart), and rendering. `--executor fresh` is a
fresh `python -I` child started when the job is ready (what `grader check` did before issue
18), `warm` the child template started first, as `grader check` does now (its start overlaps
the imports). The child's own phases come from separate runs: `python -I` importing numpy and
torch, and the same check with the sandbox off (GRADER_SANDBOX=off), whose difference is the
confinement. The load average is printed: on a shared machine only one run's figures compare.
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

MEASURE = r"""
import json, os, sys, time
sys.path.insert(0, {root!r})
os.chdir({root!r})
marks = []
start = time.perf_counter()
def mark(name, at=None):
    marks.append((name, (at or time.perf_counter()) - start))
executor = None
if {warm!r}:
    from grader.cli.warm import WarmExecutor
    executor = WarmExecutor()
    mark("start the child's template (in the background)")
import click, yaml
mark("import click, yaml")
import numpy
mark("import numpy")
import torch
mark("import torch")
import grader.cli.main
from grader.grading import resolve_seed
from grader.problems.bank import Bank
from grader.kinds import kind_of
from grader.kinds.function import kind as function_kind, performance
from grader.sandbox import codec, runner
from grader.render.text import render_result
mark("import the engine (grader.cli.main and what check uses)")
bank = Bank()
problem = bank.get({problem!r})
mark("bank and spec")
kind = kind_of(problem.kind)
submission = kind.read_submission(problem.id, {path!r})
mark("read the submission")
spent = {{"gradcheck": 0.0, "speed": 0.0}}
def timed(name, func):
    def wrapper(*a, **k):
        t = time.perf_counter()
        try:
            return func(*a, **k)
        finally:
            spent[name] += time.perf_counter() - t
    return wrapper
function_kind.gradcheck_cases = timed("gradcheck", function_kind.gradcheck_cases)
performance.reference_timing = timed("speed", performance.reference_timing)
t = time.perf_counter()
prepared = function_kind.prepare_cases(problem, bank, 0, "all")
mark("expected outputs: the reference on each case", time.perf_counter() - spent["gradcheck"])
mark("expected outputs: gradcheck (finite differences)")
frames = []
decode = codec.decode
def decode_timed(*a, **k):
    header, value = decode(*a, **k)
    frames.append((header.get("type"), time.perf_counter()))
    return header, value
codec.decode = decode_timed
if executor is None:
    executor = runner.SubprocessExecutor()
run = executor.run
def run_timed(job):
    t = time.perf_counter()
    result = run(job)
    frames.append(("end", time.perf_counter()))
    if not [f for f in frames if f[0] == "launch"]:
        frames.insert(0, ("launch", t))
    return result
executor.run = run_timed
result = kind.grade(problem, submission, bank=bank, executor=executor, seed=0, limits=None, student=None,
                    prepared=prepared)
graded = time.perf_counter()
launch = frames[0][1]
ready = next((at for name, at in frames if name == "ready"), launch)
done = next((at for name, at in frames if name == "done"), ready)
mark("job set-up (work folder, cgroups)", launch)
mark("child: start, until its ready frame", ready)
mark("child: the cases, until its done frame", done)
mark("comparisons and the rest of grading", graded - spent["speed"])
mark("the reference's speed timing (its own child)", graded)
text = render_result(result, color=False)
mark("rendering")
if hasattr(executor, "close"):
    executor.close()
print(json.dumps({{"marks": marks, "passed": result.passed, "score": result.score}}))
"""


TIMELINE = r"""
import atexit, importlib.abc, importlib.util, os, sys, time
T0 = float(os.environ["BREAKDOWN_T0"])
marks = []
def mark(name):
    marks.append((name, time.time() - T0))
mark("python started (interpreter and site)")
sys.path.insert(0, {root!r})
os.chdir({root!r})
WATCH = {{"torch": "the grader's import torch", "grader.grading": "the engine's imports"}}
AFTER = {{}}  # module name -> what to patch in it once it is loaded (not before: numpy would come first)
class Hook(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path, target=None):
        if name not in WATCH and name not in AFTER:
            return None
        sys.meta_path.remove(self)
        try:
            spec = importlib.util.find_spec(name)
        finally:
            sys.meta_path.insert(0, self)
        run = spec.loader.exec_module
        def exec_module(module):
            if name in WATCH:
                mark(WATCH[name] + ": begin")
            run(module)
            if name in WATCH:
                mark(WATCH[name] + ": end")
            if name in AFTER:
                AFTER[name](module)
        spec.loader.exec_module = exec_module
        return spec
sys.meta_path.insert(0, Hook())
def wrap(owner, attribute, label):
    inner = getattr(owner, attribute)
    def wrapper(*args, **kwargs):
        mark(label + ": begin")
        try:
            return inner(*args, **kwargs)
        finally:
            mark(label + ": end")
    setattr(owner, attribute, wrapper)
def mark_frames(codec):
    decode = codec.decode
    def decode_marked(*args, **kwargs):
        header, value = decode(*args, **kwargs)
        if header.get("type") in ("ready", "done"):
            mark("child: " + header["type"] + " frame")
        return header, value
    codec.decode = decode_marked
AFTER["grader.sandbox.codec"] = mark_frames
from grader.cli import main as cli, warm
from grader.sandbox import confine, forkserver  # the standard library only, as warm.py's thread imports them
wrap(forkserver.ForkServer, "_ensure_started", "template: started until ready (background)")
wrap(confine, "_probe", "sandbox probe (background)")
wrap(warm.WarmExecutor, "run", "executor.run (job set-up, fork, confinement, load, cases)")
wrap(warm.WarmExecutor, "close", "template shutdown, cgroups removed")
atexit.register(lambda: (mark("output written, exit handlers"), sys.stderr.write("MARKS " + repr(marks) + "\n")))
mark("grader.cli.main imported")
cli.main(["check", {problem!r}, {path!r}], prog_name="grader", obj={{cli.OWN_PROCESS: True}})
"""

TORCH_TIMELINE = ("import os, sys, time; t0 = float(os.environ['BREAKDOWN_T0']); a = time.time() - t0; import torch; "
                  "sys.stderr.write('MARKS ' + repr([('python started (interpreter and site)', a), "
                  "('import torch: end', time.time() - t0)]) + chr(10))")


def timeline_run(code: str) -> dict[str, float]:
    import ast

    env = dict(os.environ, BREAKDOWN_T0=repr(time.time()))
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    end = time.perf_counter() - start
    lines = [line for line in proc.stderr.splitlines() if line.startswith("MARKS ")]
    if not lines:
        sys.exit(f"the timed run failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    marks = {}
    for name, at in ast.literal_eval(lines[-1][len("MARKS "):]):
        marks.setdefault(name, at)  # the first time (the template's start is asked for again by the job)
    marks["process ended (exit included)"] = end
    return marks


def timeline(problem: str, path: str, runs: int) -> None:
    code = TIMELINE.format(root=str(ROOT), problem=problem, path=path)
    checks, torches = [], []
    for _ in range(runs):
        checks.append(timeline_run(code))
        torches.append(timeline_run(TORCH_TIMELINE))
    print(f"grader check {problem} {path}: seconds since launch, median of {runs} runs")
    names = sorted(checks[0], key=lambda n: statistics.median(c.get(n, 0.0) for c in checks))
    for name in names:
        print(f"  {statistics.median(c[name] for c in checks if name in c):7.3f}  {name}")
    print(f"python -c 'import torch', same rounds:")
    for name in torches[0]:
        print(f"  {statistics.median(t[name] for t in torches):7.3f}  {name}")


def measure(problem: str, path: str, warm: bool, sandbox: str | None = None) -> dict:
    import json

    env = dict(os.environ)
    if sandbox:
        env["GRADER_SANDBOX"] = sandbox
    code = MEASURE.format(root=str(ROOT), problem=problem, path=path, warm=warm)
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env, cwd=ROOT)
    if proc.returncode != 0:
        sys.exit(f"the measurement failed ({proc.returncode}):\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def phases(data: dict) -> dict[str, float]:
    """Each mark's share: the time since the mark before it (marks may come out of order)."""
    out, before = {}, 0.0
    for name, at in sorted(data["marks"], key=lambda m: m[1]):
        out[name] = at - before
        before = at
    out["total"] = before
    return out


def child_imports() -> float:
    start = time.perf_counter()
    subprocess.run([sys.executable, "-I", "-c", "import numpy, torch"], check=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("problem", nargs="?", default="sigmoid-backward")
    parser.add_argument("file", nargs="?")
    parser.add_argument("--executor", choices=["fresh", "warm", "both"], default="both")
    parser.add_argument("--repeat", type=int, default=3, help="runs of each (medians shown; default 3)")
    parser.add_argument("--timeline", type=int, metavar="N", help="the real check as its own process, N runs")
    args = parser.parse_args()
    path = args.file or f"examples/{args.problem}/correct.py"
    print(f"load average before: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    if args.timeline:
        timeline(args.problem, path, args.timeline)
        print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
        return
    kinds = ["fresh", "warm"] if args.executor == "both" else [args.executor]
    runs: dict[str, list[dict]] = {k: [] for k in kinds + ["fresh, sandbox off"]}
    imports = []
    for _ in range(args.repeat):  # interleaved, so that every kind sees the same load
        for kind in kinds:
            runs[kind].append(phases(measure(args.problem, path, kind == "warm")))
        runs["fresh, sandbox off"].append(phases(measure(args.problem, path, False, "off")))
        imports.append(child_imports())
    names = list(runs[kinds[0]][0])
    header = f"{'phase (median of ' + str(args.repeat) + ' runs, s)':58s}" + "".join(f"{k:>20s}" for k in runs)
    print(header)
    for name in names:
        cells = "".join(f"{statistics.median(r.get(name, 0.0) for r in runs[k]):20.3f}" for k in runs)
        print(f"{name:58s}{cells}")
    label = "python -I -c 'import numpy, torch' (the child's imports)"
    print(f"{label:58s}{statistics.median(imports):20.3f}")
    print(f"load average after: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")


if __name__ == "__main__":
    main()
