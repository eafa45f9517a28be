"""The card examples through the real CLI: correct ones pass, buggy ones fail with feedback."""
import pytest

from pathlib import Path

EXAMPLES = Path(__file__).resolve().parent.parent / "examples"

CARD = ["sigmoid-backward", "adam-step", "coin-entropy", "conv-output-size", "attention"]


@pytest.mark.parametrize("problem", CARD)
def test_correct_example_gets_full_marks(cli, problem):
    result = cli("check", problem, EXAMPLES / problem / "correct.py", "--json")
    data = result.json()
    assert result.exit_code == 0, result.output
    assert data["score"] == data["max_score"] == 10
    assert all(t["status"] == "passed" for t in data["tests"])
    # CUDA cases run where a GPU is available and are reported as skipped elsewhere, never dropped
    cuda = [t for t in data["tests"] + data["skipped"] if t["device"] == "cuda"]
    assert cuda and all(t["status"] in ("passed", "skipped") for t in cuda)


@pytest.mark.parametrize("problem", CARD)
def test_buggy_example_loses_marks_with_a_named_mistake(cli, problem):
    result = cli("check", problem, EXAMPLES / problem / "buggy.py", "--json")
    data = result.json()
    assert result.exit_code == 1
    assert data["score"] < data["max_score"]
    failed = [t for t in data["tests"] if t["status"] == "failed"]
    assert failed and any(t["mistake"] for t in failed), failed


def test_module_entry_point_runs_as_a_process(grader_cmd):
    result = grader_cmd("check", "conv-output-size", EXAMPLES / "conv-output-size" / "correct.py")
    assert result.exit_code == 0, result.stderr
    assert "Score: 10 / 10" in result.output


def test_help_lists_every_command_without_importing_the_engine():
    """`grader --help` is the first thing a student types: it lists every command with the start of
    its help, and imports neither the engine nor torch (it took 5 s of wall time when it imported
    each command's module to read its help). The listing is the same once the commands are loaded."""
    import subprocess
    import sys

    code = """
import sys
from grader.cli.main import main

def show():
    try:
        main(["--help"], prog_name="grader")
    except SystemExit:
        pass

show()
print("imported:", sorted(m for m in ("torch", "numpy", "grader.kinds") if m in sys.modules))
for name in main.list_commands(None):
    main.get_command(None, name)
show()
"""
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                            cwd=Path(__file__).resolve().parent.parent)
    assert result.returncode == 0, result.stderr
    lazy, loaded = result.stdout.split("imported: [")
    assert loaded.startswith("]\n"), loaded
    assert lazy == loaded[2:]
    for name in ("check", "grade", "gradescope", "new", "release", "report", "serve", "validate"):
        assert f"\n  {name} " in lazy

    from grader.cli.main import LAZY_COMMANDS

    for name, (target, summary) in LAZY_COMMANDS.items():
        module, _, attribute = target.partition(":")
        command = getattr(__import__(module, fromlist=[attribute]), attribute)
        assert " ".join(command.help.split("\n\n")[0].split()) == summary, name
