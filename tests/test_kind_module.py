"""Kind `module` through the real CLI: a student's class is built, given known weights, called, and
its outputs and gradients compared (grader/kinds/module.py, grader/child_module.py).

The student-like files are in tests/data/module/: four correct styles of MultiHeadAttention, three
known mistakes, a contract broken by names, and hostile modules.
"""
from __future__ import annotations

import base64
import csv
import io
import json
import os
import shutil
import time
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

DATA = Path(__file__).resolve().parent / "data" / "module"
MHA = "multi-head-attention-module"
CASES = ["small", "small-masked", "one-head", "many-heads", "causal", "large-magnitude", "float64"]


def check(cli, path: Path, *extra: str):
    result = cli("check", MHA, path, "--json", *extra)
    assert result.exit_code in (0, 1), result.output + result.stderr
    data = result.json()
    assert not data["grader_error"], data
    return result.exit_code, data, {t["name"]: t for t in data["tests"]}


@pytest.mark.parametrize("style", ["reshape", "einsum", "sdpa", "loops"])
def test_every_style_gets_full_marks(cli, style):
    code, data, tests = check(cli, DATA / f"mha_{style}.py")
    assert code == 0 and data["score"] == data["max_score"] == 10, data
    assert list(tests) == CASES


@pytest.mark.parametrize("name, mistake", [("wrong_scale", "scale-by-embed-dim"),
                                           ("wrong_no_proj", "no-output-projection"),
                                           ("wrong_split", "split-without-transpose")])
def test_known_mistakes_lose_marks_and_are_named(cli, name, mistake):
    code, data, tests = check(cli, DATA / f"{name}.py")
    assert code == 1 and data["score"] < 10
    wrong = [t for t in tests.values() if t["status"] == "failed"]
    assert wrong and all(t["mistake"] == mistake for t in wrong), wrong
    assert f"This matches a known mistake ({mistake})" in wrong[0]["output"]
    assert "call 1 `forward(query, key, value" in wrong[0]["output"]


def test_wrong_parameter_names_list_expected_against_found(cli):
    code, data, tests = check(cli, DATA / "wrong_names.py")
    assert code == 1 and data["score"] == 0
    output = tests["small"]["output"]
    assert "the parameters do not match the contract (names and shapes)" in output
    assert "expected: query.weight (4, 4), query.bias (4,), key.weight (4, 4)" in output
    assert "found:    q_proj.weight (4, 4), q_proj.bias (4,)" in output
    assert "missing: query.weight" in output and "not expected: q_proj.weight" in output


def test_lying_named_parameters_and_state_dict_change_nothing(cli):
    """The grader asks nn.Module itself: the overridden named_parameters()/state_dict() are not believed."""
    code, data, tests = check(cli, DATA / "hostile_lying.py")
    assert code == 1 and data["score"] == 0
    assert all("found:    layers.0.weight (4, 4)" in t["output"] for t in tests.values() if t["name"] == "small")
    assert all(t["outcome"] == "wrong" for t in tests.values())


@pytest.mark.parametrize("name, words", [("hostile_subclass", "returned a Agreeable, not a plain torch.Tensor"),
                                         ("hostile_weird", "returned a Box, not a plain torch.Tensor")])
def test_odd_return_values_are_bad_output(cli, name, words):
    code, data, tests = check(cli, DATA / f"{name}.py")
    assert code == 1 and data["score"] == 0
    assert all(t["outcome"] == "bad_output" and words in t["output"] for t in tests.values()), tests


def test_output_flood_is_capped(cli):
    _, data, _ = check(cli, DATA / "hostile_weird.py")
    assert len(data["stdout"]) < 100_000 and "more bytes not shown" in data["stdout"]


def test_getattr_trap_is_never_sprung_by_the_grader(cli):
    """Any attribute the module lacks ends its process; the grader only uses nn.Module's own."""
    code, data, _ = check(cli, DATA / "hostile_getattr.py")
    assert code == 0 and data["score"] == 10


def forked_copies() -> list[int]:
    found = []
    for pid in os.listdir("/proc"):
        if pid.isdigit():
            try:
                if Path(f"/proc/{pid}/comm").read_text().strip() == "grader-mha-fork":
                    found.append(int(pid))
            except OSError:
                pass
    return found


def test_forward_that_forks_is_contained(cli):
    code, data, _ = check(cli, DATA / "hostile_fork.py")
    assert code == 0 and data["score"] == 10  # harmless once contained
    # The sleeping copies (60 s, well past this poll) go with the child's PID namespace. The check
    # returns once the tree is killed, not once it has finished exiting: where no cgroup is emptied
    # first (a normal user), the copies can still be tearing down their memory for a moment.
    deadline = time.monotonic() + 5
    while forked_copies() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert forked_copies() == []


def test_hang_costs_only_its_case(cli):
    code, data, tests = check(cli, DATA / "hostile_hang.py", "--time-limit", "8")
    assert code == 1
    assert tests["many-heads"]["outcome"] == "timeout" and "time limit" in tests["many-heads"]["output"]
    assert all(t["status"] == "passed" for name, t in tests.items() if name != "many-heads")


def test_not_a_module_and_a_failing_constructor(cli, submission):
    plain = submission("""
        class MultiHeadAttention:
            def __init__(self, embed_dim, num_heads):
                pass
        """, name="plain.py")
    _, data, tests = check(cli, plain)
    assert "made a MultiHeadAttention, not a torch.nn.Module" in tests["small"]["output"]
    broken = submission("""
        from torch import nn

        class MultiHeadAttention(nn.Module):
            def __init__(self, embed_dim, num_heads):
                super().__init__()
                self.query = nn.Linear(embed_dim, embed_dim // 0)
        """, name="broken.py")
    _, data, tests = check(cli, broken)
    assert tests["small"]["outcome"] == "exception"
    assert tests["small"]["output"].startswith("building `MultiHeadAttention(embed_dim, num_heads)`: "
                                               "ZeroDivisionError")


def test_detached_output_says_why_gradients_fail(cli, submission):
    path = submission("""
        import torch
        from torch import nn

        class MultiHeadAttention(nn.Module):
            def __init__(self, embed_dim, num_heads):
                super().__init__()
                for name in ("query", "key", "value", "proj"):
                    setattr(self, name, nn.Linear(embed_dim, embed_dim))

            def forward(self, query, key, value, attn_mask=None):
                return torch.zeros_like(query)
        """)
    _, data, tests = check(cli, path)
    assert data["score"] == 0
    assert "back-propagating through the output of call 1" in tests["small"]["output"]


def test_starter_scores_zero(cli, tmp_path):
    assert cli("start", MHA, tmp_path / "mha.py").exit_code == 0
    code, data, _ = check(cli, tmp_path / "mha.py")
    assert code == 1 and data["score"] == 0


def test_show_explains_the_contract(cli):
    result = cli("show", MHA)
    assert result.exit_code == 0
    assert "Built as MultiHeadAttention(embed_dim, num_heads)" in result.output
    assert "query.weight (4, 4), query.bias (4,)" in result.output
    assert "gradients of query, key, value and of every parameter" in result.output
    assert "Hidden cases: 5" in result.output


def test_validate_kills_every_mistake(cli):
    result = cli("validate", Path(__file__).resolve().parent.parent / "problems" / "attention" / f"{MHA}.yaml",
                 "--json")
    assert result.exit_code == 0, result.output
    report = result.json()
    problem = report["problems"][0]
    assert problem["kind"] == "module" and report["mistakes_total"] == report["mistakes_killed"] == 4
    assert all(m["recognised"] for m in problem["mistakes"])


def test_scaffold_a_module_problem(cli, tmp_path):
    (tmp_path / "problems").mkdir()
    result = cli("--bank", tmp_path, "new", "tiny-layer", "--topic", "layers", "--kind", "module")
    assert result.exit_code == 0, result.output
    show = cli("--bank", tmp_path, "show", "tiny-layer")
    assert show.exit_code == 0 and "Built as" in show.output


def test_class_run_writes_module_results_everywhere(cli, tmp_path):
    klass = tmp_path / "class"
    klass.mkdir()
    for student, name in (("alice", "mha_einsum"), ("bob", "wrong_scale"), ("carol", "hostile_subclass")):
        shutil.copy(DATA / f"{name}.py", klass / f"{student}.py")
    assignment = tmp_path / "assignment.yaml"
    assignment.write_text(f"name: attention\nproblems:\n  - {MHA}\n  - sigmoid-backward\n")
    out = tmp_path / "out"
    result = cli("grade", klass, "--assignment", assignment, "--out", out, "--jobs", "2", "--no-progress")
    assert result.exit_code == 0, result.output
    rows = {r["student"]: r for r in csv.DictReader(io.StringIO((out / "grades.csv").read_text()))}

    def why(student: str) -> str:  # the student's own result, shown when a score is not the expected one
        return (out / "students" / f"{student}.json").read_text()[:4000]

    assert float(rows["alice"][MHA]) == 10, why("alice")
    assert float(rows["carol"][MHA]) == 0, why("carol")
    assert 0 < float(rows["bob"][MHA]) < 10, why("bob")
    bob = json.loads((out / "students" / "bob.json").read_text())
    assert any(t["mistake"] == "scale-by-embed-dim" for t in bob["problems"][0]["tests"])
    junit = ET.parse(out / "junit.xml").getroot()
    names = {(t.get("classname"), t.get("name")) for t in junit.iter("testcase")}
    assert all((f"{s}.{MHA}", case) in names for s in ("alice", "bob", "carol") for case in CASES)
    results = tmp_path / "gradescope" / "results.json"
    code = cli("grade", klass / "bob.py", "--single", "--assignment", assignment, "--out", out,
               "--gradescope", results, "--no-progress").exit_code
    assert code == 0
    tests = json.loads(results.read_text())["tests"]
    assert sum(1 for t in tests if MHA in t["name"]) == len(CASES)
    classroom = cli("grade", klass / "alice.py", "--single", "--assignment", assignment, "--out", out,
                    "--classroom", "--no-progress")
    data = json.loads(base64.b64decode(classroom.output.strip().splitlines()[-1]))
    assert sum(t["score"] for t in data["tests"] if MHA in t["name"]) == 10


# ---------------------------------------------------------------- a plain NumPy class: two-layer-net

@pytest.mark.parametrize("style", ["vectorised", "loops"])
def test_numpy_class_styles_get_full_marks(cli, style):
    result = cli("check", "two-layer-net", DATA / f"net_{style}.py", "--json")
    assert result.exit_code == 0, result.output
    assert result.json()["score"] == 10


def test_numpy_class_mistake_is_named(cli):
    result = cli("check", "two-layer-net", DATA / "net_unmasked.py", "--json")
    assert result.exit_code == 1
    wrong = [t for t in result.json()["tests"] if t["status"] == "failed"]
    assert wrong and all(t["mistake"] == "relu-backward-unmasked" for t in wrong)


def test_numpy_class_params_dict_is_the_contract(cli):
    result = cli("check", "two-layer-net", DATA / "net_missing_bias.py", "--json")
    assert result.exit_code == 1
    output = result.json()["tests"][0]["output"]
    assert "expected: W1 (4, 5), b1 (5,), W2 (5, 3), b2 (3,)" in output
    assert "missing: b2" in output and "wrong shape: W2 is (3, 5), expected (5, 3)" in output


def test_numpy_problem_validates(cli):
    result = cli("validate", Path(__file__).resolve().parent.parent / "problems" / "cs231n" / "two-layer-net.yaml")
    assert result.exit_code == 0, result.output
    assert "mistakes 3/3 killed" in result.output


# ---------------------------------------------------------------- parameters: in_order (names free)

IN_ORDER_SPEC = """\
id: scaled-affine
title: Scaled affine layer
topic: layers
points: 4
kind: module
statement: "class ScaledAffine(nn.Module): a linear layer (weight (M, D) then bias (M,)), output doubled."
entry_point: {name: ScaledAffine, signature: "class ScaledAffine(nn.Module): __init__(self, d, m); forward(self, x)"}
starter: "class ScaledAffine:\\n    pass\\n"
reference: layers:ScaledAffine
sizes: {N: 3, D: 4, M: 2}
inputs:
  d: {type: int, low: D, high: D}
  m: {type: int, low: M, high: M}
  x: {type: tensor, shape: [N, D]}
module:
  init: [d, m]
  parameters: in_order
  calls: [{args: [x], gradients: [x]}]
cases:
  - {name: visible, visible: true}
  - {name: hidden, sizes: {N: 5}}
mistakes:
  - {name: not-doubled, impl: "mistakes.layers:NotDoubled", feedback: "double the output."}
  - {name: no-bias, impl: "mistakes.layers:NoBias", feedback: "add the bias."}
  - {name: tripled, impl: "mistakes.layers:Tripled", feedback: "double, not triple."}
"""

IN_ORDER_REFERENCE = """\
from torch import nn


class ScaledAffine(nn.Module):
    def __init__(self, d, m):
        super().__init__()
        self.linear = nn.Linear(d, m)

    def forward(self, x):
        return 2 * self.linear(x)
"""

IN_ORDER_MISTAKES = """\
from reference.layers import ScaledAffine


class NotDoubled(ScaledAffine):
    def forward(self, x):
        return self.linear(x)


class NoBias(ScaledAffine):
    def forward(self, x):
        return 2 * x @ self.linear.weight.T


class Tripled(ScaledAffine):
    def forward(self, x):
        return 3 * self.linear(x)
"""


@pytest.fixture
def in_order_bank(tmp_path):
    bank = tmp_path / "bank"
    for path, text in (("problems/layers/scaled-affine.yaml", IN_ORDER_SPEC), ("reference/__init__.py", ""),
                       ("reference/layers.py", IN_ORDER_REFERENCE), ("reference/mistakes/__init__.py", ""),
                       ("reference/mistakes/layers.py", IN_ORDER_MISTAKES)):
        (bank / path).parent.mkdir(parents=True, exist_ok=True)
        (bank / path).write_text(text)
    return bank


def test_in_order_contract_takes_any_names_and_checks_shapes_in_order(cli, in_order_bank, submission):
    assert cli("--bank", in_order_bank, "validate").exit_code == 0
    own_names = submission("""
        import torch
        from torch import nn

        class ScaledAffine(nn.Module):
            def __init__(self, d, m):
                super().__init__()
                self.W = nn.Parameter(torch.randn(m, d))
                self.b = nn.Parameter(torch.zeros(m))

            def forward(self, x):
                return 2 * (x @ self.W.T + self.b)
        """, name="own.py")
    result = cli("--bank", in_order_bank, "check", "scaled-affine", own_names, "--json")
    assert result.exit_code == 0 and result.json()["score"] == 4, result.output
    bias_first = submission("""
        import torch
        from torch import nn

        class ScaledAffine(nn.Module):
            def __init__(self, d, m):
                super().__init__()
                self.b = nn.Parameter(torch.zeros(m))
                self.W = nn.Parameter(torch.randn(m, d))

            def forward(self, x):
                return 2 * (x @ self.W.T + self.b)
        """, name="bias_first.py")
    result = cli("--bank", in_order_bank, "check", "scaled-affine", bias_first, "--json")
    output = result.json()["tests"][0]["output"]
    assert result.exit_code == 1 and "(shapes, in registration order)" in output
    assert "expected: linear.weight (2, 4), linear.bias (2,)" in output and "found:    b (2,), W (2, 4)" in output
    tripled = submission("""
        from torch import nn

        class ScaledAffine(nn.Module):
            def __init__(self, d, m):
                super().__init__()
                self.fc = nn.Linear(d, m)

            def forward(self, x):
                return self.fc(x) * 3
        """, name="tripled.py")
    tests = cli("--bank", in_order_bank, "check", "scaled-affine", tripled, "--json").json()["tests"]
    assert [t["mistake"] for t in tests] == ["tripled", "tripled"]
