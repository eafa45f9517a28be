"""A student's problems graded in one child (grader/sandbox/runner.py run_batch, grader/classes/batch.py
grade_together) give exactly the results of grading each problem alone (GRADER_BATCH=off): the
example class and students whose one problem misbehaves (an infinite loop, os._exit, a print
flood, a module that fails to load, torch patched for the problems after it, a file written, a
process left running). Both runs go through the real CLI; every output is compared after the
golden tests' normalisation (durations, paths)."""
from __future__ import annotations

import os
import re
import shutil
import struct
import subprocess
import sys
from pathlib import Path

import pytest

from grader.limits import Limits
from grader.sandbox.forkserver import ForkServerExecutor
from grader.sandbox.runner import Call, Job, RunStatus
from tests.golden_outputs import normalise

ROOT = Path(__file__).resolve().parent.parent
CARD = {"sigmoid-backward": "sigmoid_backward", "adam-step": "adam_step", "coin-entropy": "coin_entropy",
        "conv-output-size": "conv_output_size", "attention": "attention"}


def folder_student(root: Path, name: str, changes: dict[str, str] | None = None) -> None:
    """A student with one file per problem (the examples' correct ones), some replaced by `changes`."""
    folder = root / name
    folder.mkdir()
    for problem, module in CARD.items():
        text = (ROOT / "examples" / problem / "correct.py").read_text()
        (folder / f"{module}.py").write_text((changes or {}).get(module, text))


def correct(problem: str) -> str:
    return (ROOT / "examples" / problem / "correct.py").read_text()


def make_class(root: Path) -> None:
    shutil.copytree(ROOT / "examples" / "class", root)
    # the first call loops forever, the other cases pass
    folder_student(root, "loops", {"sigmoid_backward": correct("sigmoid-backward").replace(
        "def sigmoid_backward(x, grad_output):",
        "CALLS = []\n\n\ndef sigmoid_backward(x, grad_output):\n    CALLS.append(1)\n"
        "    while len(CALLS) == 1:\n        pass")})
    folder_student(root, "exits", {"adam_step": correct("adam-step").replace(
        "def adam_step(", "import os\n\n\ndef _gone():\n    os._exit(0)\n\n\ndef adam_step(").replace(
        "    return", "    _gone()\n    return", 1)})
    folder_student(root, "floods", {"coin_entropy": correct("coin-entropy").replace(
        "def coin_entropy(p):", "def coin_entropy(p):\n    print('flood ' * 200_000)\n    import sys\n"
        "    print('err ' * 100_000, file=sys.stderr)")})
    folder_student(root, "fails-to-load", {"conv_output_size": "import torch\n\nraise RuntimeError('not today')\n"})
    # sigmoid-backward (graded first) patches torch for whatever runs after it in the same process
    folder_student(root, "patches", {"sigmoid_backward": correct("sigmoid-backward").replace(
        "def sigmoid_backward(x, grad_output):",
        "def sigmoid_backward(x, grad_output):\n    torch.softmax = lambda *a, **k: 0\n"
        "    torch.Tensor.exp = lambda self: self\n    torch.sqrt = lambda t: t")})
    folder_student(root, "writes", {"sigmoid_backward": correct("sigmoid-backward").replace(
        "def sigmoid_backward(x, grad_output):",
        "def sigmoid_backward(x, grad_output):\n    open('adam_step.py', 'w').write('adam_step = None\\n')")})
    # sigmoid-backward (graded first) changes settings a batch's worker puts back for the next problems
    folder_student(root, "unsettles", {"sigmoid_backward": correct("sigmoid-backward").replace(
        "def sigmoid_backward(x, grad_output):",
        "def sigmoid_backward(x, grad_output):\n    torch.set_default_dtype(torch.float64)\n"
        "    torch.set_grad_enabled(False)\n    import warnings\n    warnings.simplefilter('error')")})
    folder_student(root, "lingers", {"coin_entropy": correct("coin-entropy").replace(
        "def coin_entropy(p):",
        "import os, time\n\n\ndef coin_entropy(p):\n    if os.fork() == 0:\n        time.sleep(30)\n"
        "        os._exit(0)")})


def grade(root: Path, out: Path, batch: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "GRADER_BATCH": batch, "GRADER_NO_CUDA": "1"}
    return subprocess.run([sys.executable, "-m", "grader", "grade", str(root), "--assignment",
                           str(ROOT / "examples" / "assignment.yaml"), "--out", str(out), "--force", "--jobs", "4"],
                          capture_output=True, text=True, timeout=600, env=env, cwd=ROOT)


def outputs(out: Path) -> dict[str, str]:
    """Every written file (the cache aside), normalised as the golden tests do."""
    found = {}
    for path in sorted(out.rglob("*")):
        rel = path.relative_to(out).as_posix()
        if path.is_file() and not rel.startswith(".cache") and rel not in ("summary.txt", "report.html"):
            found[rel] = normalise(path.read_text(errors="replace"), out)
    return found


@pytest.mark.slow
@pytest.mark.parametrize("batch", ["on", "processes"])
def test_a_class_graded_together_gets_the_results_of_each_problem_alone(tmp_path, batch):
    root = tmp_path / "class"
    make_class(root)
    together = grade(root, tmp_path / "together", batch)
    alone = grade(root, tmp_path / "alone", "off")
    assert together.returncode == alone.returncode == 0, together.stderr[-2000:] + alone.stderr[-2000:]
    got, want = outputs(tmp_path / "together"), outputs(tmp_path / "alone")
    assert got.keys() == want.keys()
    assert len([k for k in got if k.startswith("students/")]) == 13
    for name in want:
        assert got[name] == want[name], name
    # the misbehaving students' results say what each problem did, alone
    students = got["grades.csv"]
    assert "patches" in students and "loops" in students
    patched = want["students/patches.json"]
    assert '"outcome": "wrong"' not in patched  # the patch in one problem reached no other problem


def job(source: str, entry_point: str, calls: int = 2, **limits) -> Job:
    return Job(files={"solution.py": source.encode()}, module="solution.py", entry_point=entry_point,
               framework="torch", calls=[Call(name=f"c{i}", args=[i], kwargs={}, text=f"{entry_point}({i})")
                                         for i in range(calls)], limits=Limits(time=2, **limits))


SOURCE = """
import os, sys, threading, time
import torch

def double(x):
    print("double", x)
    return x * 2

def patch(x):
    torch.tensor = None
    sys.modules["json"] = None
    os.chdir("/")
    return x

def uses_torch(x):
    return float(torch.tensor([x]).sum()) + len(sys.modules["json"].dumps([]))

def exits(x):
    os._exit(0)

def chatty_thread(x):
    threading.Thread(target=lambda: [print("late") or time.sleep(0.01) for _ in range(1000)], daemon=True).start()
    return x

def writes(x):
    open("/tmp/left-behind", "w").write("x")
    return x

def unsettles(x):
    import warnings
    torch.set_default_dtype(torch.float64)
    torch.set_grad_enabled(False)
    os.environ["KMP_DUPLICATE_LIB_OK"] = "TRUE"
    warnings.simplefilter("error")
    sys.path.insert(0, "/")
    return x

def settings(x):
    import warnings
    warnings.warn("only a warning")
    return [str(torch.ones(1).dtype), torch.is_grad_enabled(), "KMP_DUPLICATE_LIB_OK" in os.environ, sys.path[0] == "/"]

def patches_relu(x):
    torch.nn.functional.relu = lambda t: t * 0
    return x

def uses_relu(x):
    return float(torch.nn.functional.relu(torch.tensor([x + 1.0])).sum())

def alarm(x):
    import signal
    signal.setitimer(signal.ITIMER_REAL, 0.5)
    return x

def sleeps(x):
    time.sleep(0.2)
    return x

def pids(x):
    return [os.getpid(), os.getppid()]

class Noisy:
    def __del__(self):
        print("finalizer of the problem before")

def leaves_finalizer(x):
    global LEFT
    LEFT = [Noisy()]
    LEFT.append(LEFT)  # a cycle: collected only by the worker's gc between problems
    return x

def terminates(x):
    import signal
    os.kill(os.getpid(), signal.SIGTERM)
    time.sleep(1)
    return x
"""


@pytest.fixture(scope="module")
def server():
    with ForkServerExecutor() as executor:
        if not executor.can_batch:
            pytest.skip("no full sandbox here: a student's problems are graded one by one")
        yield executor


@pytest.fixture(params=["on", "processes"])
def mode(request, monkeypatch):
    """Problems one after another in the batch's worker (the default), or each in a process of its own."""
    monkeypatch.setenv("GRADER_BATCH", request.param)
    return request.param


class LaunchesAlone:
    """Counts the jobs graded alone (outside a batch) on `server` while in use."""

    def __init__(self, server, monkeypatch):
        self.count = 0
        inner = server.server.launch

        def launch(*args, **kwargs):
            self.count += 1
            return inner(*args, **kwargs)
        monkeypatch.setattr(server.server, "launch", launch)


def test_each_problem_gets_its_own_process_and_output(server, mode):
    results = server.run_batch([job(SOURCE, "double"), job(SOURCE, "patch"), job(SOURCE, "uses_torch"),
                                job(SOURCE, "chatty_thread"), job(SOURCE, "double")])
    assert [c.value for c in results[0].cases] == [0, 2]
    assert results[0].stdout == "double 0\ndouble 1\n"
    assert [c.value for c in results[2].cases] == [0.0 + 2, 1.0 + 2]  # the patch did not reach it
    assert results[2].stdout == "" and "late" not in results[4].stdout  # nor the thread's output
    assert results[4].stdout == "double 0\ndouble 1\n"
    assert all(r.children == 1 for r in results)


def test_settings_a_problem_changes_are_put_back_for_the_next(server, mode, monkeypatch):
    """Default dtype, grad mode, environment, warnings filters and sys.path: as alone, still in the batch."""
    alone = LaunchesAlone(server, monkeypatch)
    results = server.run_batch([job(SOURCE, "unsettles", calls=1), job(SOURCE, "settings", calls=1),
                                job(SOURCE, "leaves_finalizer", calls=1), job(SOURCE, "double", calls=1)])
    assert results[3].stdout == "double 0\n"  # not what the problem before printed as it was collected
    assert [c.value for c in results[1].cases] == [["torch.float32", True, False, False]], results[1].cases
    assert "only a warning" in results[1].stderr
    assert [c.value for c in results[3].cases] == [0]
    assert alone.count == 0


def test_a_problem_that_changes_the_process_is_graded_again_alone_with_the_rest(server, mode, monkeypatch):
    alone = LaunchesAlone(server, monkeypatch)
    results = server.run_batch([job(SOURCE, "double", calls=1), job(SOURCE, "patches_relu", calls=1),
                                job(SOURCE, "uses_relu", calls=1)])
    assert [c.value for c in results[0].cases] == [0]
    assert [c.value for c in results[2].cases] == [1.0]  # relu as torch has it, not the patch
    assert alone.count == (0 if mode == "processes" else 2)  # a process each: the patch died with its process
    results = server.run_batch([job(SOURCE, "alarm", calls=1), job(SOURCE, "sleeps", calls=4)])
    assert [c.status for c in results[1].cases] == [RunStatus.OK] * 4  # no alarm from the problem before
    # noticed when the alarm's problem ended (unnoticed, the alarm would kill the batch in `sleeps`,
    # which would then be graded again alone, but not `alarm`)
    assert alone.count == (0 if mode == "processes" else 4)


def test_the_batch_runs_in_one_worker_under_init(server, mode):
    """Init never runs student code (it would ignore signals that end any other process)."""
    results = server.run_batch([job(SOURCE, "pids", calls=1), job(SOURCE, "pids", calls=1)])
    (first,), (second,) = ([c.value for c in r.cases] for r in results)
    assert first[0] != 1
    if mode == "on":
        assert first == second and first[1] == 1  # the same worker, forked by init, for every problem
    else:
        assert first != second and first[1] not in (0, 1)  # a process each, forked by the worker


def test_a_problem_that_signals_itself_is_graded_as_alone(server, mode, monkeypatch):
    alone = LaunchesAlone(server, monkeypatch)
    results = server.run_batch([job(SOURCE, "double", calls=1), job(SOURCE, "terminates", calls=1),
                                job(SOURCE, "double", calls=1)])
    assert [c.value for c in results[0].cases] == [0]
    assert [c.status for c in results[1].cases] == [RunStatus.CRASHED]
    assert [c.value for c in results[2].cases] == [0]
    assert alone.count >= 2  # the problem that ended its process, and the one after it


def test_a_problem_that_exits_or_leaves_a_file_is_graded_again_alone(server):
    results = server.run_batch([job(SOURCE, "double"), job(SOURCE, "exits"), job(SOURCE, "writes"),
                                job(SOURCE, "double")])
    assert [c.value for c in results[0].cases] == [0, 2]
    assert {c.status for c in results[1].cases} == {RunStatus.CRASHED}
    assert results[1].children == 2  # alone: one child per lost case, as run_with does
    assert [c.value for c in results[2].cases] == [0, 1]
    assert [c.value for c in results[3].cases] == [0, 2]


def timeless(text: str) -> str:
    """A test's output with the measured times of a speed test masked ("your code 681 µs ...",
    "1.02 ms": the unit goes too, since a time may cross from one to the other between runs)."""
    if " µs" not in text and " ms" not in text:
        return text
    return re.sub(r"\d+(\.\d+)?", "#", re.sub(r"\d+(\.\d+)? (µs|ms|s)\b", "<time>", text))


class Counting:
    """The fork server, counting the batches and the jobs each held."""

    def __init__(self, inner):
        self.inner, self.batches = inner, []

    can_batch = property(lambda self: self.inner.can_batch)

    def run(self, job):
        return self.inner.run(job)

    def run_batch(self, jobs):
        self.batches.append(len(jobs))
        return self.inner.run_batch(jobs)


@pytest.mark.slow
def test_grade_class_sends_each_students_problems_as_one_batch(server, tmp_path, monkeypatch):
    from grader.classes.assignment import load_assignment
    from grader.classes.batch import grade_class
    from grader.classes.pool import LocalPool
    from grader.classes.students import find_students
    from grader.problems.bank import Bank

    root = tmp_path / "class"
    root.mkdir()
    shutil.copy(ROOT / "examples" / "class" / "alice.py", root / "alice.py")
    shutil.copytree(ROOT / "examples" / "class" / "bob", root / "bob")
    bank = Bank()
    assignment = load_assignment(ROOT / "examples" / "assignment.yaml", bank)
    scores = {}
    for batch in ("on", "off"):
        monkeypatch.setenv("GRADER_BATCH", batch)
        counting = Counting(server)
        with LocalPool(jobs=2) as pool:
            report = grade_class(assignment, find_students(root), bank=bank, pool=pool, executor=counting)
        assert counting.batches == ([5, 5] if batch == "on" else [])
        scores[batch] = [[(p.score, [(t.name, t.outcome, timeless(t.output)) for t in p.tests]) for p in s.problems]
                         for s in report.students]
    for got, want in zip(scores["on"], scores["off"]):
        assert got == want, [(g, w) for g, w in zip(got, want) if g != w]


def test_fewer_students_than_slots_run_their_problems_side_by_side(server, tmp_path):
    """One submission (the course service's usual round) or a class smaller than the pool: no batch,
    so the student's problems use every slot and the result comes back sooner."""
    from grader.classes.assignment import load_assignment
    from grader.classes.batch import grade_class
    from grader.classes.pool import LocalPool
    from grader.classes.students import find_students
    from grader.problems.bank import Bank

    root = tmp_path / "class"
    root.mkdir()
    shutil.copy(ROOT / "examples" / "class" / "alice.py", root / "alice.py")
    bank = Bank()
    assignment = load_assignment(ROOT / "examples" / "assignment.yaml", bank)
    counting = Counting(server)
    with LocalPool(jobs=2) as pool:
        report = grade_class(assignment, find_students(root), bank=bank, pool=pool, executor=counting)
    assert counting.batches == []
    assert report.students[0].score == report.students[0].max_score, report.students[0].problems


def test_each_problem_of_a_batch_reports_its_own_time(server, tmp_path):
    """A problem's `seconds` (the JSON results, the summary's slowest problem) is its own run, as if
    graded alone, not the whole batch it waited for: here one problem's module takes 3 s to load and
    the other four together take a fraction of that."""
    from grader.classes.assignment import load_assignment
    from grader.classes.batch import grade_class
    from grader.classes.pool import LocalPool
    from grader.classes.students import find_students
    from grader.problems.bank import Bank

    root = tmp_path / "class"
    root.mkdir()
    folder_student(root, "slow", {"coin_entropy": "import time\ntime.sleep(3)\n" + correct("coin-entropy")})
    bank = Bank()
    assignment = load_assignment(ROOT / "examples" / "assignment.yaml", bank)
    counting = Counting(server)
    with LocalPool(jobs=1) as pool:
        report = grade_class(assignment, find_students(root), bank=bank, pool=pool, executor=counting)
    assert counting.batches == [5]
    seconds = {p.problem: p.seconds for p in report.students[0].problems}
    assert seconds["coin-entropy"] >= 3, seconds
    others = sum(s for problem, s in seconds.items() if problem != "coin-entropy")
    assert others < seconds["coin-entropy"], seconds


RANDOM = """
import random
import numpy, torch

def draws(x):
    return [random.random(), float(numpy.random.rand()), float(torch.rand(1))]
"""


COUNTS = """
SEEN = []

def counts(x):
    SEEN.append(x)
    return len(SEEN)

def takes_two(x, y):
    return x + y
"""


def test_problems_sharing_a_file_each_run_it_in_a_fresh_module(server, mode, monkeypatch):
    """A student's problems from one file: the worker compiles it once (child.compiled) but runs it
    for each problem in a module of its own, so no problem sees another's globals."""
    alone = LaunchesAlone(server, monkeypatch)
    results = server.run_batch([job(COUNTS, "counts", calls=2), job(COUNTS, "counts", calls=3)])
    assert [[c.value for c in r.cases] for r in results] == [[1, 2], [1, 2, 3]]
    assert alone.count == 0


PYTHON2 = """
from past.builtins import xrange

def total(x):
    return sum(xrange(x + 3))
"""


def test_every_problem_of_a_batch_gets_the_python2_stand_in(server, mode, monkeypatch):
    """`from past.builtins import xrange` works in each problem: the stand-in module is made for each
    problem again (child.install_python2_names), though the search for a real one is done once."""
    alone = LaunchesAlone(server, monkeypatch)
    results = server.run_batch([job(PYTHON2, "total", calls=1), job(PYTHON2, "total", calls=2)])
    assert [[c.value for c in r.cases] for r in results] == [[3], [3, 6]], [r.cases for r in results]
    assert alone.count == 0


def test_each_problem_checks_calls_against_its_own_function(server, mode):
    """The signature a problem's calls are checked against is its own entry point's, not the one of
    the problem before (child.signature_of keeps one function's signature for its cases)."""
    results = server.run_batch([job(COUNTS, "counts", calls=1), job(COUNTS, "takes_two", calls=1),
                                job(COUNTS, "counts", calls=1)])
    assert results[0].cases[0].value == 1 and results[2].cases[0].value == 1
    assert results[1].cases[0].status is RunStatus.SIGNATURE, results[1].cases
    assert "missing a required argument: 'y'" in results[1].cases[0].message


def test_an_entry_point_without_a_signature_is_simply_called(server, mode):
    """A builtin has no signature to check the call against (inspect.signature raises ValueError):
    it is called as it is, and a call it cannot take fails as the builtin says."""
    source = "largest = max\n"
    results = server.run_batch([job(source, "largest", calls=2), job(COUNTS, "counts", calls=1)])
    assert [(c.status, c.message) for c in results[0].cases][0][0] is RunStatus.EXCEPTION  # max(0)
    assert "not iterable" in results[0].cases[0].message
    assert results[1].cases[0].value == 1


def test_the_compile_cache_gives_one_code_object_per_file_and_source():
    from grader.sandbox import child

    first = child.compiled(b"x = 1\n", "a.py")
    assert child.compiled(b"x = 1\n", "a.py") is first
    assert child.compiled(b"x = 2\n", "a.py") is not first  # an edited file is compiled again
    assert child.compiled(b"x = 1\n", "b.py").co_filename == "b.py"  # tracebacks name the right file
    with pytest.raises(SyntaxError):
        child.compiled(b"def broken(:\n", "c.py")
    with pytest.raises(SyntaxError):  # a failure is not remembered as a success
        child.compiled(b"def broken(:\n", "c.py")


def test_each_problem_of_a_batch_gets_fresh_random_state(server):
    """Each problem's process is reseeded (Python, numpy and torch's generators), as each job's
    child is: no two problems of a batch draw the same numbers, nor two batches."""
    first = server.run_batch([job(RANDOM, "draws", calls=1) for _ in range(3)])
    second = server.run_batch([job(RANDOM, "draws", calls=1) for _ in range(2)])
    draws = [r.cases[0].value for r in first + second]
    assert all(r.cases[0].status is RunStatus.OK for r in first + second), draws
    for generator in range(3):
        values = [d[generator] for d in draws]
        assert len(set(values)) == len(values), (generator, values)


@pytest.mark.slow
def test_every_function_problem_of_the_bank_gets_the_same_verdicts_batched(server, tmp_path, monkeypatch):
    """Real course code: the bank's reference modules as one student's files, graded on every
    function problem batched (one process for a batch's problems) and alone; every problem's
    score and case outcomes agree, and no batched problem's check found the process changed."""
    from grader.classes.assignment import parse_assignment
    from grader.classes.batch import grade_class
    from grader.classes.pool import LocalPool
    from grader.classes.students import find_students
    from grader.problems.bank import Bank
    from grader.sandbox import runner

    ends = []
    collect = runner.collect

    def spying(*args, **kwargs):
        attempt = collect(*args, **kwargs)
        if attempt.problem_end is not None:
            ends.append(attempt.problem_end)
        return attempt
    monkeypatch.setattr(runner, "collect", spying)
    bank = Bank()
    ids = [p.id for p in bank.all() if p.kind == "function"]
    assignment = parse_assignment({"name": "bank", "problems": ids}, Path("<bank>"), bank)
    (tmp_path / "class" / "reference").mkdir(parents=True)
    for source in (ROOT / "reference").glob("*.py"):
        if source.name != "__init__.py":
            shutil.copy(source, tmp_path / "class" / "reference" / source.name)
    results = {}
    for batch in ("on", "off"):
        monkeypatch.setenv("GRADER_BATCH", batch)
        with LocalPool(jobs=1) as pool:  # one slot: the student's problems go as batches
            report = grade_class(assignment, find_students(tmp_path / "class"), bank=bank, pool=pool, executor=server)
        results[batch] = [(p.problem, p.score, [(t.name, t.outcome) for t in p.tests]) for p in report.students[0].problems]
    assert len(ends) > 30 and all(e["clean"] for e in ends), [e for e in ends if not e["clean"]]
    assert results["on"] == results["off"]


HELD = """
import sys

def held(x):
    held = sys.modules["grader.sandbox.forkserver"]._HELD
    return [repr(held).count("marker-of-class-a"), repr(held).count("marker-of-class-b")]
"""


def marked_job(marker: str, calls: int = 2) -> Job:
    return Job(files={"solution.py": HELD.encode()}, module="solution.py", entry_point="held", framework="torch",
               calls=[Call(name=f"c{i}", args=[f"{marker}-{i}"], kwargs={}, text=f"held({i})") for i in range(calls)],
               limits=Limits(time=2))


def _nests_or_skip(server):
    if not server.server._nests:
        pytest.skip("no cgroups here (they need root and a writable cgroup v1 hierarchy): no cgroup set's template holds a class's calls")
    return server.server._nests


@pytest.fixture
def hold_after_two(server, monkeypatch):
    """Calls are held once two batches in a row had them (a class needs forkserver.HOLD_AFTER)."""
    import collections

    monkeypatch.setattr(server.server, "_recent_batches", collections.deque(maxlen=2))


def _wait_for_clean_sets():
    """Until every set given back is clean: the next job then takes the last one again."""
    import time

    from grader.sandbox import confine

    deadline = time.monotonic() + 10
    while confine.CGROUPS._dirty and time.monotonic() < deadline:
        time.sleep(0.01)


def test_a_class_batch_is_sent_to_a_template_holding_its_calls(server, mode, hold_after_two, monkeypatch):
    """Once a class's batches came in a row, a student's request names the calls its set's
    template holds: a few hundred bytes instead of the calls' encoding; the results are the same.
    The first student's carries the calls."""
    from grader.sandbox import forkserver

    class_a = [marked_job("marker-of-class-a"), marked_job("marker-of-class-a", calls=1)]
    first = server.run_batch(class_a)
    nests = _nests_or_skip(server)
    sent = []
    feed = forkserver._feed
    monkeypatch.setattr(forkserver, "_feed", lambda fd, data, close=True: (sent.append(bytes(data)), feed(fd, data, close)))
    second = server.run_batch(class_a)
    assert [[c.value for c in r.cases] for r in first] == [[[0, 0], [0, 0]], [[0, 0]]]  # its calls came whole
    assert [[c.value for c in r.cases] for r in second] == [[[3, 0], [3, 0]], [[3, 0]]]  # held: the batch's 3 calls
    requests = [data for data in sent if b'"batch"' in data]  # (the rest: the calls, to a new set's template)
    assert len(requests) == 1 and b'"payload"' in requests[0] and b"marker-of-class-a" not in requests[0]
    assert any(nest.payload is not None for nest in nests.values())
    sent.clear()
    once = server.run_batch([marked_job("marker-of-class-b"), marked_job("marker-of-class-b")])  # new calls: sent whole
    assert [c.value for c in once[0].cases] == [[0, 0], [0, 0]]
    assert b"marker-of-class-b" in next(data for data in sent if b'"batch"' in data)


def test_a_child_sees_no_calls_but_its_own(server, mode, hold_after_two):
    """A set's template holds one class's calls and forks only that class's children: the next
    class's batches, sent whole or held, get a template of their own in its place, and a job
    alone the main template. The student's code finds only its own calls in the module."""
    class_a = [marked_job("marker-of-class-a"), marked_job("marker-of-class-a", calls=1)]
    class_b = [marked_job("marker-of-class-b"), marked_job("marker-of-class-b", calls=1)]
    for _ in range(2):
        for jobs, own in ((class_a, [3, 0]), (class_b, [0, 3])):
            _wait_for_clean_sets()  # the set the last batch had, and so its template, is taken again
            whole = server.run_batch(jobs)  # the first of its run: sent whole
            _nests_or_skip(server)
            _wait_for_clean_sets()
            held = server.run_batch(jobs)
            assert [c.value for c in whole[0].cases] == [[0, 0], [0, 0]]
            assert [c.value for c in held[0].cases] == [own, own]  # its own 3 calls: the check sees held ones
            _wait_for_clean_sets()
            alone = server.run(marked_job("marker-of-class-b", calls=1))
            assert [c.value for c in alone.cases] == [[0, 0]]


def test_batches_whose_calls_alternate_are_sent_whole_and_replace_no_template(server, mode, monkeypatch):
    """Two classes at once (the course service), or a student's problems split into two batches:
    no run of the same calls, so none are held and no set's template is made again and again."""
    from grader.sandbox import forkserver, runner

    starts = []
    start = forkserver.ForkServer._start_nest_locked
    monkeypatch.setattr(forkserver.ForkServer, "_start_nest_locked",
                        lambda self, key, payload: starts.append(payload) or start(self, key, payload))
    classes = [[marked_job(marker), marked_job(marker, calls=1)] for marker in ("marker-of-class-a", "marker-of-class-b")]
    for round_ in range(forkserver.HOLD_AFTER + 2):
        for jobs in classes:
            _wait_for_clean_sets()
            results = server.run_batch(jobs)
            assert [c.value for c in results[0].cases] == [[0, 0], [0, 0]]  # sent whole
    _nests_or_skip(server)
    assert all(payload is None for payload in starts)  # (plain templates, where a set had none or held calls)
    assert len(starts) <= 2, starts
    held = {runner.batch_payload(jobs).key for jobs in classes}
    assert not held & {nest.payload for nest in server.server._nests.values()}


def test_a_replaced_template_counts_as_the_same_one_process(server, mode, hold_after_two, monkeypatch):
    """Each set's processes limit leaves room for one template however often it is replaced."""
    from grader.sandbox import confine

    taken = []
    take = confine.CGROUPS.take
    monkeypatch.setattr(confine.CGROUPS, "take", lambda limits: taken.append(take(limits)) or taken[-1])
    wanted = int(confine._cgroup_settings(Limits(time=2), extra_processes=1)["pids"]["pids.max"])
    wanted += 1 if mode == "processes" else 0  # the worker counts as one more process there
    replaced = 0
    classes = {marker: [marked_job(marker), marked_job(marker, calls=1)]
               for marker in ("marker-of-class-a", "marker-of-class-b")}
    for marker in ("marker-of-class-a", "marker-of-class-a", "marker-of-class-b", "marker-of-class-b",
                   "marker-of-class-a", "marker-of-class-a"):
        _wait_for_clean_sets()  # the last set is clean: it is taken again
        before = dict(server.server._nests)
        server.run_batch(classes[marker])
        nests = _nests_or_skip(server)
        paths = tuple(taken[-1])
        replaced += paths in before and before[paths] is not nests[paths]
        pids = next(path for path in paths if "/pids/" in path)
        assert int(Path(pids, "pids.max").read_text()) == wanted, pids
    assert replaced >= 2


def test_a_set_template_that_cannot_hold_the_calls_leaves_them_sent_whole(server, hold_after_two, monkeypatch):
    """When a set's template fails to take the calls (here: they arrive cut short), the student's
    child comes from the main template with its calls in its request, graded as ever."""
    from grader.sandbox import forkserver, runner

    class_c = [marked_job("marker-of-class-c"), marked_job("marker-of-class-c", calls=1)]
    server.run_batch(class_c)  # sent whole: from the second student on, a set's template would hold them
    _nests_or_skip(server)
    feed = forkserver._feed

    def cut_short(fd, data, close=True):
        if b'"batch"' not in data and b"marker-of-class-c" in data:  # the calls, to a set's template
            data = data[:len(data) // 2]
        return feed(fd, data, close)
    monkeypatch.setattr(forkserver, "_feed", cut_short)
    results = server.run_batch(class_c)
    assert [[c.value for c in r.cases] for r in results] == [[[0, 0], [0, 0]], [[0, 0]]]
    held = runner.batch_payload(class_c).key
    assert held not in [nest.payload for nest in server.server._nests.values()]


def test_a_set_template_asked_to_hold_calls_it_did_not_get_does_not_start(server, hold_after_two):
    """`NEST` naming calls but without their pipe (descriptors lost on the way): the set's template
    exits rather than say it is ready holding nothing (each child would then fail)."""
    import json
    import socket

    from grader.sandbox import forkserver

    server.run_batch([marked_job("marker-of-class-a"), marked_job("marker-of-class-a", calls=1)])
    paths = next(iter(_nests_or_skip(server)))
    fork = server.server
    ours, theirs = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    with ours, fork._lock:
        fork._ensure_started()
        socket.send_fds(fork._sock, [forkserver.NEST + json.dumps({"paths": list(paths), "payload": 12345}).encode()],
                        [theirs.fileno()])
        theirs.close()
        assert struct.unpack("i", forkserver._answer(fork._sock))[0] > 0  # forked
        assert forkserver._answer(ours, 64, timeout=10) == b""  # and gone, never ready


def test_a_main_template_that_does_not_answer_a_nest_is_replaced(server, monkeypatch):
    """No answer to NEST in time (a wedged template): it is stopped, so a late answer can never be
    read as a child's pid, and the next job gets a fresh template."""
    from grader.sandbox import forkserver

    fork = server.server
    server.run_batch([marked_job("marker-of-class-a"), marked_job("marker-of-class-a", calls=1)])
    _nests_or_skip(server)
    starts, answer = fork.starts, forkserver._answer
    with fork._lock:
        monkeypatch.setattr(forkserver, "_answer", lambda sock, size=16, timeout=30: b"")
        assert fork._start_nest_locked(next(iter(fork._nests)), None) is None
        monkeypatch.setattr(forkserver, "_answer", answer)
        assert fork._proc is None and not fork._nests
    results = server.run_batch([marked_job("marker-of-class-b"), marked_job("marker-of-class-b", calls=1)])
    assert [c.value for c in results[1].cases] == [[0, 0]] and fork.starts == starts + 1
