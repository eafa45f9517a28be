"""The warm fork server: same verdicts as a fresh child, a clean single-threaded child, every failure a result."""
from __future__ import annotations

import ast
import os
import textwrap
import time
from pathlib import Path

import pytest

from grader.problems.bank import Bank
from grader.sandbox.forkserver import ForkServer, ForkServerExecutor
from grader.grading import grade
from grader.limits import Limits
from grader.sandbox.runner import SubprocessExecutor

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"


@pytest.fixture(scope="module")
def bank():
    return Bank()


@pytest.fixture(scope="module")
def fork():
    with ForkServerExecutor() as executor:
        yield executor


def write(tmp_path: Path, source: str, name: str = "solution.py") -> Path:
    path = tmp_path / name
    path.write_text(textwrap.dedent(source), encoding="utf-8")
    return path


SPY = """
import os, sys, random
import numpy, torch

def sigmoid_backward(x, grad_output):
    info = {
        "threads": len(os.listdir("/proc/self/task")),
        "modules": sorted(m for m in sys.modules if m.split(".")[0] in ("grader", "reference")),
        "env": sorted(os.environ),
        "fds": sorted(int(fd) for fd in os.listdir("/proc/self/fd")),
        "random": [random.random(), float(numpy.random.rand()), float(torch.rand(1))],
    }
    print(repr(info))
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
"""


def spy_info(result) -> dict:
    return ast.literal_eval(result.stdout.splitlines()[0])


@pytest.mark.parametrize("problem, variant", [("sigmoid-backward", "buggy"), ("coin-entropy", "correct")])
def test_same_verdicts_as_a_fresh_child(fork, bank, problem, variant):
    path = EXAMPLES / problem / f"{variant}.py"
    warm = grade(problem, path, bank=bank, executor=fork)
    fresh = grade(problem, path, bank=bank, executor=SubprocessExecutor())
    assert warm.score == fresh.score
    assert [(t.name, t.status, t.outcome, t.mistake) for t in warm.tests] == \
           [(t.name, t.status, t.outcome, t.mistake) for t in fresh.tests]


def test_child_is_single_threaded_scrubbed_and_holds_nothing_of_the_grader(fork, bank, tmp_path):
    result = grade("sigmoid-backward", write(tmp_path, SPY), bank=bank, executor=fork)
    assert result.score == result.max_score
    info = spy_info(result)
    assert info["threads"] == 1  # a forked child must be able to unshare namespaces and call confine
    assert not any(m.startswith("reference") for m in info["modules"])
    assert set(info["modules"]) <= {"grader", "grader.sandbox.child", "grader.sandbox.codec", "grader.sandbox.forkserver",
                                    "grader.sandbox", "grader.sandbox.confine", "grader.sandbox.values",
                                    "grader.sandbox.forbidden_runtime",  # the run-time watch of forbidden APIs: no secrets
                                    "grader.sandbox.process_state",  # a batch's checks between problems: libraries' names
                                    "grader.sandbox.tempdirs"}  # the grader's folders' locks: none made or held here
    assert "HOME" in info["env"] and not any("TOKEN" in k or "SECRET" in k for k in info["env"])
    assert set(info["env"]) == set(__import__("grader.sandbox.confine", fromlist=["x"]).child_env("/x"))
    assert info["fds"][:4] == [0, 1, 2, 3] and len(info["fds"]) <= 5  # + the fd of listdir itself


def test_each_child_gets_fresh_random_state(fork, bank, tmp_path):
    path = write(tmp_path, SPY)
    first = spy_info(grade("sigmoid-backward", path, bank=bank, executor=fork))["random"]
    second = spy_info(grade("sigmoid-backward", path, bank=bank, executor=fork))["random"]
    assert all(a != b for a, b in zip(first, second))


def test_infinite_loop_times_out_and_the_next_submission_is_unaffected(fork, bank, tmp_path):
    loop = write(tmp_path, """
        def conv_output_size(n, f, p=0, s=1):
            while True:
                pass
    """, "loop.py")
    result = grade("conv-output-size", loop, bank=bank, executor=fork, limits=Limits(time=0.3))
    assert result.score == 0 and "time" in result.limits_hit
    assert {t.outcome for t in result.tests} == {"timeout"}
    after = grade("conv-output-size", EXAMPLES / "conv-output-size" / "correct.py", bank=bank, executor=fork)
    assert after.score == after.max_score


@pytest.mark.parametrize("body, outcome, words", [
    ("import os\n    os._exit(3)", "crashed", "status 3"),
    ("import ctypes\n    ctypes.string_at(0)", "crashed", "segmentation fault"),
    ("raise ValueError('nope')", "exception", "ValueError: nope"),
])
def test_crashes_are_results(fork, bank, tmp_path, body, outcome, words):
    path = write(tmp_path, f"def conv_output_size(n, f, p=0, s=1):\n    {body}\n")
    result = grade("conv-output-size", path, bank=bank, executor=fork)
    assert result.score == 0
    assert all(t.outcome == outcome for t in result.tests), [t.outcome for t in result.tests]
    assert words in result.tests[0].output


def _processes_with(marker: str) -> list[str]:
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and marker in (entry / "cmdline").read_bytes().decode(errors="replace"):
                found.append(entry.name)
        except OSError:
            continue
    return found


def test_a_students_subprocesses_are_killed_with_it(fork, bank, tmp_path):
    marker = f"{os.getpid()}.{time.monotonic_ns() % 10**6}"
    path = write(tmp_path, f"""
        import subprocess, time
        def conv_output_size(n, f, p=0, s=1):
            subprocess.Popen(["sleep", "300.{marker}"])
            while True:
                time.sleep(1)
    """)
    result = grade("conv-output-size", path, bank=bank, executor=fork, limits=Limits(time=0.3))
    assert {t.outcome for t in result.tests} == {"timeout"}
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and _processes_with(marker):
        time.sleep(0.1)
    assert not _processes_with(marker)  # killed and reaped: nothing left behind, not even zombies


def test_a_dead_template_is_restarted(bank):
    import signal

    with ForkServerExecutor() as executor:
        os.kill(executor.server._proc.pid, signal.SIGKILL)
        after = grade("conv-output-size", EXAMPLES / "conv-output-size" / "correct.py", bank=bank, executor=executor)
        assert after.score == after.max_score
        assert executor.server.starts == 2


def test_template_is_single_threaded_and_stops_with_its_server():
    with ForkServerExecutor() as executor:
        server = executor.server
        assert server.template_threads == 1
        pid = server._proc.pid
    assert not Path(f"/proc/{pid}").exists() or "Z" in Path(f"/proc/{pid}/stat").read_text().split()[2]


def _huge_pages_possible() -> bool:
    """Transparent huge pages not switched off, and a kernel with MADV_COLLAPSE (6.1+)."""
    try:
        enabled = Path("/sys/kernel/mm/transparent_hugepage/enabled").read_text()
    except OSError:
        return False
    major, minor = (int(x) for x in os.uname().release.split(".")[:2])
    return "[never]" not in enabled and (major, minor) >= (6, 1)


def test_a_template_asked_for_huge_pages_backs_its_memory_with_them():
    """A template that will fork many children collapses its memory into huge pages, which makes
    every fork cheaper; a check's template does not ask for it (it forks a child or two)."""
    from grader.cli.warm import WarmExecutor

    if not _huge_pages_possible():
        pytest.skip("this kernel cannot collapse memory into huge pages (THP off, or Linux before 6.1)")
    with ForkServerExecutor(ForkServer(huge_pages=True)) as executor:
        rollup = Path(f"/proc/{executor.server._proc.pid}/smaps_rollup").read_text()
    huge_kb = int(next(line.split()[1] for line in rollup.splitlines() if line.startswith("AnonHugePages:")))
    assert huge_kb >= 32 << 10  # torch's and Python's heap: about 110 MB of it on Linux 6.x
    warm = WarmExecutor()
    try:
        warm._starting.join()
        assert warm._server is not None and warm._server.huge_pages is False
    finally:
        warm.close()


def test_grade_asks_for_huge_pages_from_many_problem_submissions(cli, tmp_path, monkeypatch):
    """`grader grade` asks for cheaper forks when students x problems reaches MANY_JOBS (the
    collapse costs 0.5-0.9 s once and pays back over about a hundred jobs), not for fewer."""
    from grader.cli import grade as grade_command

    asked = []
    real = grade_command.executor_for
    monkeypatch.setattr(grade_command, "executor_for", lambda *a, **k: asked.append(k["many_jobs"]) or real(*a, **k))
    monkeypatch.setattr(grade_command, "MANY_JOBS", 2)
    klass = tmp_path / "class"
    klass.mkdir()
    for name in ("ada", "bob"):
        (klass / f"{name}.py").write_text((EXAMPLES / "conv-output-size" / "correct.py").read_text())
    assignment = tmp_path / "assignment.yaml"
    assignment.write_text("name: one\nproblems:\n  - conv-output-size\n")
    for target, extra in ((klass, []), (klass / "ada.py", ["--single"])):
        result = cli("grade", target, *extra, "--assignment", assignment, "--out", tmp_path / "out", "--force",
                     "--no-progress")
        assert result.exit_code == 0, (result.output, result.stderr)
    assert asked == [True, False]  # 2 students x 1 problem reaches 2; one submission does not


def test_a_child_over_its_cpu_limit_is_told_so(fork):
    """SIGXCPU at the CPU limit (the hard limit one second above it): with both equal the kernel
    sent SIGKILL first, and the verdict read "used more memory than allowed"."""
    from grader.limits import Limits
    from grader.sandbox.runner import Call, Job, RunStatus

    source = "import time\n\ndef spin(x):\n    end = time.process_time() + 5\n    while time.process_time() < end:\n        pass\n    return x\n"
    job = Job(files={"spin.py": source.encode()}, module="spin.py", entry_point="spin", framework="torch",
              calls=[Call(name="c0", args=[1], kwargs={}, text="spin(1)")], limits=Limits(time=30, cpu=1))
    (case,) = fork.run(job).cases
    assert case.status == RunStatus.CPU, case.message
    assert "CPU time" in case.message
