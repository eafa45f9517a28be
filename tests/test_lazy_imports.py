"""The commands that run no student code (`grader list`, `show`, `start`, `new`, `quiz` and
`check` on questions) import no torch: it costs 1.5-2.5 s of a 2-core machine, more than the rest of such a command.

Each command runs through the real CLI (grader.cli.main) in a fresh process twice: as it is, and
after `import torch` (as every command did before the kinds left torch to the code that grades).
The first must leave torch unimported and both must print the same: loading torch lazily changes
no output. (The golden tests pin what `check`, `grade` and `validate` print.)"""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: Runs each command of argv[1] (a JSON list of {"args", "stdin"}) in this one process, in order,
#: and prints, for each, its output, exit status and which of torch and numpy were imported by then.
RUN_COMMANDS = """
import contextlib, io, json, sys
if sys.argv[2] == "torch first":
    import torch
from grader.cli.main import main

report = []
for command in json.loads(sys.argv[1]):
    out = io.StringIO()
    sys.stdin = io.StringIO(command.get("stdin", ""))
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        try:
            main(command["args"], prog_name="grader", obj={})
            status = 0
        except SystemExit as exc:
            status = exc.code if isinstance(exc.code, int) else 1
    report.append({"args": command["args"], "stdout": out.getvalue(), "status": status,
                   "imported": sorted(m for m in ("torch", "numpy") if m in sys.modules)})
print(json.dumps(report))
"""


def run_commands(commands: list[dict], torch_first: bool, cwd: Path) -> list[dict]:
    proc = subprocess.run([sys.executable, "-c", RUN_COMMANDS, json.dumps(commands),
                           "torch first" if torch_first else "lazy"],
                          capture_output=True, text=True, timeout=300, cwd=cwd)
    assert proc.returncode == 0, proc.stderr
    return json.loads(proc.stdout)


def student_commands(tmp: Path) -> list[dict]:
    """A student's look around the bank: every kind that can be shown without running trusted
    code (module and training problems build the reference's model or data to describe them),
    and an instructor's new problems in an empty bank; paths relative to `tmp` (the process's cwd)."""
    (tmp / "questions.yaml").write_text("name: week-0\ntitle: questions only\nproblems:\n  - coin-entropy-quiz\n"
                    "  - zero-centered-quiz\n  - overfitting-curves-quiz\n", encoding="utf-8")
    (tmp / "answers.yaml").write_text("coin-entropy-quiz: .47\n", encoding="utf-8")
    commands = [["validate", "--help"], ["list"], ["list", "--json"],
                ["show", "sigmoid-backward"], ["show", "sigmoid-backward", "--json", "--student", "ada"],
                ["show", "adam-numpy"], ["show", "sgd-momentum-optimizer"], ["show", "adam-cs231n"],
                ["show", "sigmoid-derivative-quiz", "--seed", "3"], ["show", "sigmoid-cdf-quiz"],
                ["show", "no-such-problem"],
                ["start", "sigmoid-backward", "start/function"], ["start", "adam-cs231n", "start/steps"],
                ["start", "multi-head-attention-module", "start/module"],
                ["start", "train-csv-regressor", "start/training"],
                ["start", "sigmoid-derivative-quiz", "start/question"],
                ["new", "--help"]]
    runs = [{"args": args} for args in commands]
    runs += [{"args": ["--bank", "bank", "new", f"my-{kind}", "--topic", "t", "--kind", kind]}
             for kind in ("function", "module", "steps", "training", "numeric", "choice")]
    runs += [{"args": ["--bank", "bank", "list"]},
             {"args": ["quiz", "questions.yaml", "--student", "ada"], "stdin": "0.47\nb\nA, B\n"},
             {"args": ["quiz", "conv-output-size-quiz", "--seed", "1"], "stdin": "17\n"},
             {"args": ["check", "coin-entropy-quiz", "answers.yaml", "--student", "ada"]}]
    return runs


def runs_in_a_fresh_process(folder: Path, torch_first: bool) -> list[dict]:
    (folder / "bank" / "problems").mkdir(parents=True)
    (folder / "bank" / "reference").mkdir()
    return run_commands(student_commands(folder), torch_first, cwd=folder)


@pytest.fixture(scope="module")
def lazy_runs(tmp_path_factory) -> list[dict]:
    return runs_in_a_fresh_process(tmp_path_factory.mktemp("lazy"), torch_first=False)


def test_commands_that_grade_nothing_import_no_torch(lazy_runs):
    for run in lazy_runs:
        assert "torch" not in run["imported"], f"grader {' '.join(run['args'])} imported torch"
    assert lazy_runs[0]["args"] == ["validate", "--help"] and lazy_runs[0]["imported"] == []  # not even numpy
    outcomes = {" ".join(run["args"]): (run["status"], run["stdout"]) for run in lazy_runs}
    assert outcomes["show sigmoid-backward"][0] == 0
    assert "x: tensor of shape (2, 3), float32" in outcomes["show sigmoid-backward"][1]
    assert outcomes["show no-such-problem"][0] == 2
    assert outcomes["start sigmoid-derivative-quiz start/question"][0] == 2
    assert outcomes["start sigmoid-backward start/function"][0] == 0
    assert "my-training" in outcomes["--bank bank list"][1]
    assert outcomes["quiz questions.yaml --student ada"][0] == 1
    assert "Quiz score: 5.33 / 6" in outcomes["quiz questions.yaml --student ada"][1]
    assert outcomes["check coin-entropy-quiz answers.yaml --student ada"][0] == 0  # a question: no code runs


def test_their_output_is_what_it_is_with_torch_imported(lazy_runs, tmp_path):
    """(Slow: tests/slow_tests.txt. In the default run, the next test covers what `show` derives
    from the inputs, the one output that could change with torch absent.)"""
    eager_runs = runs_in_a_fresh_process(tmp_path, torch_first=True)
    assert len(eager_runs) == len(lazy_runs)
    for lazy, eager in zip(lazy_runs, eager_runs):
        assert "torch" in eager["imported"]
        assert (lazy["args"], lazy["stdout"], lazy["status"]) == (eager["args"], eager["stdout"], eager["status"])


def test_show_describes_inputs_as_the_made_values_would_be_described():
    """`grader show` says what a case's inputs are (shape and dtype) without making the tensors:
    for every case of every problem in the bank, with two seeds, it says what the values say."""
    from grader.problems.bank import Bank
    from grader.problems.inputs import case_arguments, summarize, summarize_input

    bank = Bank()
    compared = 0
    for problem in bank.all():
        if not problem.spec.get("inputs"):
            continue
        for case in problem.cases:
            for seed in (0, 5):
                described = [(a.name, a.value, a.keyword) for a in case_arguments(problem, case, seed, make=summarize_input)]
                made = [(a.name, summarize(a.value), a.keyword) for a in case_arguments(problem, case, seed)]
                assert described == made, (problem.id, case["name"])
                compared += len(made)
    assert compared > 1000
