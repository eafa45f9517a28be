"""How `grader check` ends (issue 18): the program exits at once once its output is written
(grader.cli.main.exit_at_once), and a check that runs no child kills its still-importing template
instead of waiting for it (grader.cli.warm). Nothing here times anything: benchmarks/bench_check.py
does. What is checked is what could break: the output, the exit status, and nothing left behind.
"""
from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from golden_outputs import normalise
from grader.cli.warm import WarmExecutor

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples" / "sigmoid-backward"


@pytest.fixture
def own_tmp(tmp_path):
    """A TMPDIR of the check's own: its template's folder (grader-template-*) is made there, and
    the template's working directory is that folder, so what a check leaves behind can be seen."""
    folder = tmp_path / "tmp"
    folder.mkdir()
    return folder


def left_behind(folder: Path) -> list[str]:
    """Template folders still in `folder`, and processes whose working directory is inside it."""
    found = [p.name for p in folder.glob("grader-template-*")]
    for pid in filter(str.isdigit, os.listdir("/proc")):
        try:
            cwd = os.readlink(f"/proc/{pid}/cwd")
        except OSError:
            continue
        if cwd.startswith(str(folder) + os.sep):
            found.append(f"process {pid} in {cwd}")
    return found


def run_check(grader_cmd, own_tmp, *args):
    env = {**os.environ, "TMPDIR": str(own_tmp), "PYTHONPATH": str(ROOT)}
    return grader_cmd("check", *map(str, args), env=env, timeout=300)


@pytest.mark.parametrize("example, status", [("correct.py", 0), ("buggy.py", 1)])
def test_the_program_writes_what_the_command_writes_and_exits_with_its_status(cli, grader_cmd, own_tmp,
                                                                              example, status):
    """The program (exits at once) against the same command run in this process (exits normally):
    the same table, the same JSON, the same exit status; and nothing left behind."""
    path = EXAMPLES / example
    program = run_check(grader_cmd, own_tmp, "sigmoid-backward", path)
    in_process = cli("check", "sigmoid-backward", path)
    assert program.exit_code == in_process.exit_code == status, program.stderr
    assert program.output == in_process.output
    assert program.output.rstrip().splitlines()[-1].startswith("Score: ")  # flushed to the end
    program_json = run_check(grader_cmd, own_tmp, "sigmoid-backward", path, "--json")
    in_process_json = cli("check", "sigmoid-backward", path, "--json")
    assert program_json.exit_code == status
    assert normalise(program_json.output) == normalise(in_process_json.output)  # tests/test_golden.py's
    assert left_behind(own_tmp) == []


@pytest.mark.parametrize("source", [
    "def sigmoid_backward(x, grad_output)\n    return x\n",           # a syntax error
    "import torch\ndef sigmoid_backward(x, grad_output):\n    return torch.autograd.grad(x, x)\n",  # forbidden
])
def test_a_check_that_runs_no_child_exits_and_leaves_no_template(grader_cmd, own_tmp, submission, source):
    """Found wrong before any child runs: the result says so, exit status 1, and the template (still
    importing torch, or ready) is gone with its folder."""
    result = run_check(grader_cmd, own_tmp, "sigmoid-backward", submission(source), "--json")
    assert result.exit_code == 1, result.stderr
    data = result.json()
    assert data["score"] == 0 and data["tests"], data
    assert left_behind(own_tmp) == []


def test_a_question_checked_with_an_answers_file_leaves_no_template(grader_cmd, own_tmp, tmp_path):
    answers = tmp_path / "answers.yaml"
    answers.write_text("coin-entropy-quiz: 0.5\n")
    result = run_check(grader_cmd, own_tmp, "coin-entropy-quiz", answers, "--json")
    assert result.exit_code in (0, 1), result.stderr
    assert result.json()["tests"][0]["name"]
    assert left_behind(own_tmp) == []


@pytest.mark.parametrize("bank_option", [False, True])
def test_a_mistyped_problem_id_is_said_at_once_without_starting_a_template(monkeypatch, submission, bank_option):
    """An id with no spec file in the bank is reported from the file names alone, with the ids it
    may have meant, exit status 2, as the bank reports it; no template is started for it (and
    none is left: tests/test_check_exit's other tests). A known id still gets one."""
    from click.testing import CliRunner

    import grader.cli.warm
    from grader.cli.main import main

    started = []
    monkeypatch.setattr(grader.cli.warm, "WarmExecutor", lambda: started.append(1) or (_ for _ in ()).throw(
        RuntimeError("a template was started")))
    path = submission("def sigmoid_backward(x, grad_output):\n    return x\n")
    bank = ["--bank", str(ROOT)] if bank_option else []
    result = CliRunner().invoke(main, [*bank, "check", "sigmoid-backwrd", str(path)])
    assert result.exit_code == 2, result.output
    assert f"no problem 'sigmoid-backwrd' in the bank at {ROOT}" in result.stderr
    assert "Did you mean: sigmoid-backward" in result.stderr
    assert started == []
    result = CliRunner().invoke(main, [*bank, "check", "sigmoid-backward", str(path)])
    assert started == [1]


def test_closing_kills_a_template_that_is_still_importing(monkeypatch, tmp_path):
    """close() does not wait for the template to finish starting: it is killed mid-import (it never
    said it was ready), reaped, and its folder removed."""
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)  # gettempdir() reads TMPDIR again
    executor = WarmExecutor()
    deadline = time.monotonic() + 60
    while (executor._server is None or executor._server._starting is None) and time.monotonic() < deadline:
        time.sleep(0.001)  # until the template's process exists (it then imports torch for a second or more)
    server = executor._server
    assert server is not None and server._starting is not None, "the template never started"
    template = server._starting
    executor.close()
    assert template.poll() is not None, "the template is still running"
    assert server.starts == 0, "close waited for the template to finish starting"
    assert list(tmp_path.glob("grader-template-*")) == []
    assert not executor._starting.is_alive()


def test_closing_before_the_start_began_starts_nothing(monkeypatch, tmp_path):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    monkeypatch.setattr("tempfile.tempdir", None)
    executor = WarmExecutor()
    executor.close()
    server = executor._server
    assert server is None or (server._proc is None and server.starts == 0)
    assert list(tmp_path.glob("grader-template-*")) == []


EXIT_SCRIPT = """
import atexit, sys, threading, time
from pathlib import Path
from grader.cli.main import exit_at_once
out = Path(sys.argv[1])
atexit.register(lambda: (out / "exit-handler").write_text("ran"))
if sys.argv[2] == "thread":  # work a thread that is not a daemon still has to finish
    threading.Thread(target=lambda: (time.sleep(0.5), (out / "thread").write_text("done"))).start()
sys.stdout.write("x" * 200_000)  # more than a pipe holds: written out by the flush
exit_at_once(3)
"""


@pytest.mark.parametrize("case", ["plain", "thread"])
def test_exit_at_once_flushes_runs_the_exit_handlers_and_waits_for_working_threads(tmp_path, case):
    import subprocess
    import sys

    proc = subprocess.run([sys.executable, "-c", EXIT_SCRIPT, str(tmp_path), case], capture_output=True, text=True,
                          env={**os.environ, "PYTHONPATH": str(ROOT)}, timeout=60)
    assert proc.returncode == 3, proc.stderr
    assert proc.stdout == "x" * 200_000
    assert (tmp_path / "exit-handler").read_text() == "ran"
    if case == "thread":
        assert (tmp_path / "thread").read_text() == "done"
