"""grader validate: passes on sound problems, fails (exit 1) on a weak one, exit 2 on a malformed spec."""
from __future__ import annotations

import json
import os
import textwrap
from pathlib import Path

import pytest

from grader.authoring.validate import validate

ROOT = Path(__file__).resolve().parent.parent
MY_PROBLEMS = ["clustering", "unsupervised", "association", "initialization/xavier-init.yaml",
               "initialization/he-init.yaml", "regularization/inverted-dropout.yaml",
               "regularization/dropout-numpy.yaml", "activations/sigmoid-backward.yaml"]


def write_bank(root: Path, spec: str, reference: str, mistakes: str) -> Path:
    (root / "problems" / "basics").mkdir(parents=True)
    (root / "reference" / "mistakes").mkdir(parents=True)
    (root / "reference" / "__init__.py").write_text("")
    (root / "reference" / "mistakes" / "__init__.py").write_text("")
    (root / "reference" / "basics.py").write_text(textwrap.dedent(reference))
    (root / "reference" / "mistakes" / "basics.py").write_text(textwrap.dedent(mistakes))
    path = root / "problems" / "basics" / "double.yaml"
    path.write_text(textwrap.dedent(spec))
    return path


SPEC = """\
id: double
title: Double
topic: basics
points: 10
kind: function
statement: |
  Return `double(x)` = 2x, a tensor like x.
entry_point: {name: double, signature: double(x)}
starter: |
  def double(x):
      raise NotImplementedError
reference: basics:double
inputs:
  x: {type: tensor, shape: [6], distribution: uniform, low: 0.0, high: 1.0}
cases:
  - {name: visible-negatives, visible: true, inputs: {x: [-1.0, 2.0, -3.0]}}
  - {name: hidden-1}
  - {name: hidden-2, inputs: {x: {shape: [3, 4]}}}
mistakes:
  - {name: plus, impl: "mistakes.basics:plus", feedback: "x + x + 1 is not 2x"}
  - {name: triple, impl: "mistakes.basics:triple", feedback: "3x is not 2x"}
  - {name: abs, impl: "mistakes.basics:absolute", feedback: "2|x| differs from 2x for negative x"}
"""
REFERENCE = """\
def double(x):
    return 2 * x
"""
MISTAKES = """\
def plus(x):
    return x + x + 1

def triple(x):
    return 3 * x

def absolute(x):
    return 2 * x.abs()
"""


def test_weak_problem_fails_naming_the_surviving_mistake(tmp_path, cli):
    path = write_bank(tmp_path, SPEC, REFERENCE, MISTAKES)
    result = cli("validate", path)
    assert result.exit_code == 1, result.output
    assert "FAIL  double" in result.output
    assert "mistake 'abs' passes every hidden case" in result.output
    assert "2/3" in result.output and "66.7%" in result.output


def test_sound_problem_passes_and_reports_kill_rate(tmp_path, monkeypatch):
    from grader.authoring import validate as validation

    spec = SPEC.replace("low: 0.0", "low: -1.0")  # hidden cases now have negative inputs
    path = write_bank(tmp_path, spec, REFERENCE, MISTAKES)
    asked, make = [], validation.default_executor
    monkeypatch.setattr(validation, "default_executor", lambda training=False: asked.append(training) or make(training))
    report = validate(path)
    assert asked == [False]  # no training problem: a plain template, without what optimizers import
    assert report.ok, [p.failures() for p in report.problems]
    [problem] = report.problems
    assert problem.killed == 3 and report.kill_rate == 1.0
    assert {c.name for c in problem.checks} >= {"spec", "statement", "inputs", "reference", "mistakes", "starter"}


def test_reference_failing_its_own_cases_and_scoring_starter_are_reported(tmp_path):
    spec = SPEC.replace("low: 0.0", "low: -1.0").replace(
        "      raise NotImplementedError", "      return 2 * x").replace("Return `double(x)`", "Return twice x,")
    reference = "import torch\n\ndef double(x):\n    return (2 * x.double()).to(x.dtype) if x.dtype == torch.float64 else x * 2.0001\n"
    path = write_bank(tmp_path, spec, reference, MISTAKES)
    [problem] = validate(path).problems
    failures = "\n".join(problem.failures())
    assert "statement: the statement never names the entry point 'double'" in failures
    assert "starter: the starter stub scores 10" in failures
    assert "reference: case 'visible-negatives': the reference's own output" in failures


def test_unavailable_devices_are_reported_as_skipped(tmp_path, cli):
    spec = SPEC.replace("low: 0.0", "low: -1.0") + "devices: [cpu, cuda]\n"
    path = write_bank(tmp_path, spec, REFERENCE, MISTAKES)
    result = cli("validate", path)
    assert result.exit_code == 0, result.output
    assert "skipped on cuda" in result.output


def test_malformed_spec_exits_2(tmp_path, cli):
    path = write_bank(tmp_path, SPEC.replace("kind: function", "kind: funktion"), REFERENCE, MISTAKES)
    result = cli("validate", path)
    assert result.exit_code == 2
    assert "$.kind" in result.output
    bad = write_bank(tmp_path / "b", SPEC.replace("uniform, low", "uniform, lo"), REFERENCE, MISTAKES)
    assert cli("validate", bad).exit_code == 2


def test_a_malformed_spec_beside_a_sound_one_still_gets_it_checked(tmp_path, grader_cmd):
    """Every spec loads before any is checked (the template is chosen from them): a malformed one
    is reported (exit 2) and the other in the folder is checked all the same. -j is --workers."""
    path = write_bank(tmp_path, SPEC.replace("low: 0.0", "low: -1.0"), REFERENCE, MISTAKES)
    (path.parent / "broken.yaml").write_text(SPEC.replace("id: double", "id: broken").replace("kind: function", "kind: funktion"))
    result = grader_cmd("--bank", tmp_path, "validate", path.parent, "--json", "-j", "2")
    assert result.exit_code == 2, result.stderr
    report = {p["problem"]: p for p in json.loads(result.output)["problems"]}
    assert report["broken"]["malformed"] and "$.kind" in report["broken"]["checks"][0]["message"]
    assert report["double"]["ok"] and report["double"]["killed"] == 3
    assert [c["name"] for c in report["double"]["checks"]] == ["spec", "statement", "inputs", "reference",
                                                               "mistakes", "starter"]
    refused = grader_cmd("validate", path, "--jobs", "-1")
    assert refused.exit_code == 2 and "--jobs" in refused.stderr


def test_each_failure_is_its_own_problems_check_and_the_others_still_run(tmp_path, cli):
    """A spec that does not load is malformed (check "spec", exit 2); a SpecError while checking a
    loaded problem fails its "run" check (exit 1); neither stops the other problems."""
    path = write_bank(tmp_path, SPEC.replace("low: 0.0", "low: -1.0"), REFERENCE, MISTAKES)
    (path.parent / "misnamed.yaml").write_text(SPEC.replace("id: double", "id: twice"))
    (path.parent / "no-reference.yaml").write_text(
        SPEC.replace("id: double", "id: no-reference").replace("basics:double", "basics:nothing"))
    result = cli("--bank", tmp_path, "validate", path.parent, "--json")
    assert result.exit_code == 2, result.output
    report = {p["path"]: p for p in json.loads(result.output)["problems"]}
    misnamed = report[str(path.parent / "misnamed.yaml")]
    assert misnamed["malformed"] and [(c["name"], c["ok"]) for c in misnamed["checks"]] == [("spec", False)]
    assert "the id 'twice' must match the file name 'misnamed'" in misnamed["checks"][0]["message"]
    no_reference = report[str(path.parent / "no-reference.yaml")]
    assert not no_reference["malformed"] and not no_reference["ok"]
    checks = [(c["name"], c["ok"]) for c in no_reference["checks"]]
    assert checks[0] == ("spec", True) and checks[-1] == ("run", False) and ("run", False) not in checks[:-1]
    assert "defines no function 'nothing'" in no_reference["checks"][-1]["message"]
    assert report[str(path)]["ok"] and report[str(path)]["killed"] == 3
    (path.parent / "misnamed.yaml").unlink()
    result = cli("--bank", tmp_path, "validate", path.parent / "no-reference.yaml")
    assert result.exit_code == 1 and "defines no function 'nothing'" in result.output


def test_the_graders_own_error_is_reported_as_internal_not_raised(tmp_path, cli, monkeypatch):
    """An unexpected exception, while loading one spec or while checking one problem, fails that
    problem's "internal" check; the other problems are checked all the same."""
    from grader.kinds import kind_of
    from grader.problems.bank import Bank

    path = write_bank(tmp_path, SPEC.replace("low: 0.0", "low: -1.0"), REFERENCE, MISTAKES)
    for name in ("unloadable", "unvalidatable"):
        (path.parent / f"{name}.yaml").write_text(SPEC.replace("id: double", f"id: {name}"))
    load, check = Bank.load, type(kind_of("function")).validate

    def failing_load(bank, spec_path, *args, **kwargs):
        if Path(spec_path).stem == "unloadable":
            raise KeyError("a bug while loading")
        return load(bank, spec_path, *args, **kwargs)

    def failing_check(kind, problem, *args, **kwargs):
        if problem.id == "unvalidatable":
            raise ZeroDivisionError("a bug while checking")
        return check(kind, problem, *args, **kwargs)

    monkeypatch.setattr(Bank, "load", failing_load)
    monkeypatch.setattr(type(kind_of("function")), "validate", failing_check)
    result = cli("--bank", tmp_path, "validate", path.parent, "--json")
    assert result.exit_code == 1, result.output
    report = {p["problem"]: p for p in json.loads(result.output)["problems"]}
    unloadable, unvalidatable = report["unloadable"], report["unvalidatable"]
    assert not unloadable["malformed"] and [(c["name"], c["ok"]) for c in unloadable["checks"]] == [("internal", False)]
    assert unloadable["checks"][0]["message"] == "KeyError: 'a bug while loading'"
    assert [(c["name"], c["ok"]) for c in unvalidatable["checks"]] == [("spec", True), ("internal", False)]
    assert unvalidatable["checks"][1]["message"] == "ZeroDivisionError: a bug while checking"
    assert report["double"]["ok"] and report["double"]["killed"] == 3


def test_comparator_argument_names_are_checked(tmp_path, cli):
    spec = SPEC + "comparator: {type: dropout, input: y, p: 0.5}\n"
    path = write_bank(tmp_path, spec, REFERENCE, MISTAKES)
    result = cli("validate", path)
    assert result.exit_code == 2 and "'y' is not an input" in result.output


def test_my_problems_validate_with_full_kill_rate():
    report = validate([ROOT / "problems" / path for path in MY_PROBLEMS])
    assert len(report.problems) == 10
    assert report.ok, [(p.problem, p.failures()) for p in report.problems if not p.ok]
    assert report.kill_rate == 1.0 and report.mistakes_total >= 10 * 3


@pytest.mark.skipif(bool(os.environ.get("GRADER_SKIP_BANK_VALIDATE")), reason="GRADER_SKIP_BANK_VALIDATE is set")
def test_whole_bank_validates(grader_cmd):
    """The acceptance check of the bank: every problem valid, 100% of known mistakes killed."""
    result = grader_cmd("validate", timeout=1800)
    assert result.exit_code == 0, result.output[-5000:] + result.stderr[-2000:]
    assert "Overall mistake kill rate" in result.output and "(100.0%)" in result.output
