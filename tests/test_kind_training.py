"""Kind `training` (issue 14 items 3 and 4) through the real CLI: the student's code trains in the
sandboxed child, the grader scores its predictions on held-out points whose labels stay here.

The bank's problems (train-spiral-classifier, train-csv-regressor) are graded with student-like
files; hostile submissions run against a tiny problem in a bank made here (a 3 s CPU budget), so
that a loop or a hang costs seconds."""
from __future__ import annotations

import csv
import json
import os
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

GOOD_SEQUENTIAL = """
import torch
from torch import nn


def train_model(X, y):
    model = nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))
    optimizer = torch.optim.Adam(model.parameters(), lr=0.01)
    for step in range(300):
        optimizer.zero_grad()
        loss = nn.functional.cross_entropy(model(X), y)
        loss.backward()
        optimizer.step()
    return model
"""

GOOD_CLASS_MINIBATCH = """
import torch
import torch.nn as nn
import torch.nn.functional as F
from torch.utils.data import DataLoader, TensorDataset


class SpiralNet(nn.Module):
    def __init__(self, hidden=100):
        super().__init__()
        self.fc1 = nn.Linear(2, hidden)
        self.fc2 = nn.Linear(hidden, hidden)
        self.fc3 = nn.Linear(hidden, 3)

    def forward(self, x):
        return self.fc3(F.relu(self.fc2(F.relu(self.fc1(x)))))


def train_model(X, y):
    net = SpiralNet()
    opt = torch.optim.SGD(net.parameters(), lr=0.05, momentum=0.9)
    loader = DataLoader(TensorDataset(X, y), batch_size=64, shuffle=True)
    for epoch in range(300):
        for xb, yb in loader:
            opt.zero_grad()
            F.cross_entropy(net(xb), yb).backward()
            opt.step()
    return net
"""

GOOD_PROBABILITIES = """
import numpy as np
import torch
from torch import nn


class Classifier(nn.Module):
    '''Returns class probabilities: the largest is still the predicted class.'''

    def __init__(self):
        super().__init__()
        self.body = nn.Sequential(nn.Linear(2, 128), nn.ReLU(), nn.Dropout(0.1), nn.Linear(128, 3))

    def forward(self, x):
        return torch.softmax(self.body(x), dim=1)


def train_model(X, y):
    np.random.seed(1)
    model = Classifier()
    model.train()
    optimizer = torch.optim.AdamW(model.parameters(), lr=0.02)
    loss_fn = nn.NLLLoss()
    for _ in range(400):
        optimizer.zero_grad()
        loss_fn(torch.log(model(X) + 1e-9), y).backward()
        optimizer.step()
    return model
"""

LINEAR = """
import torch
from torch import nn


def train_model(X, y):
    model = nn.Linear(2, 3)
    opt = torch.optim.SGD(model.parameters(), lr=0.5)
    for _ in range(300):
        opt.zero_grad()
        nn.functional.cross_entropy(model(X), y).backward()
        opt.step()
    return model
"""

RETURNS_LABELS = GOOD_SEQUENTIAL.replace("    return model\n", """    class Predict(nn.Module):
        def __init__(self, net):
            super().__init__()
            self.net = net

        def forward(self, x):
            return self.net(x).argmax(dim=1)
    return Predict(model)
""")

GOOD_CSV = """
import numpy as np
import torch
from torch import nn


class Regressor(nn.Module):
    def __init__(self):
        super().__init__()
        self.net = nn.Sequential(nn.Linear(3, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1))

    def forward(self, x):
        return self.net(x).squeeze(-1)


def train_regressor(path):
    data = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32)
    X, y = torch.from_numpy(data[:, :3]), torch.from_numpy(data[:, 3])
    model = Regressor()
    opt = torch.optim.Adam(model.parameters(), lr=0.01)
    for _ in range(600):
        opt.zero_grad()
        nn.functional.mse_loss(model(X), y).backward()
        opt.step()
    return model
"""

CSV_COLUMN = GOOD_CSV.replace("self.net(x).squeeze(-1)", "self.net(x)").replace(
    "mse_loss(model(X), y)", "mse_loss(model(X), y[:, None])")


def check_json(cli, *args) -> tuple[int, dict]:
    result = cli("check", *args, "--json")
    return result.exit_code, result.json()


@pytest.mark.parametrize("source", [GOOD_SEQUENTIAL, GOOD_CLASS_MINIBATCH, GOOD_PROBABILITIES],
                         ids=["sequential-adam", "class-minibatch-sgd", "softmax-probabilities"])
def test_correct_training_gets_full_marks(cli, submission, source):
    code, data = check_json(cli, "train-spiral-classifier", submission(source))
    assert code == 0, data
    assert data["score"] == data["max_score"] == 10
    for test in data["tests"]:
        metric = test["metric"]
        assert metric["name"] == "accuracy" and metric["value"] >= 0.9 and metric["full"] == 0.9 and metric["zero"] == 0.6
        assert 0 < metric["cpu_seconds"] <= metric["cpu_budget"] == 60
        assert "held-out points" in test["output"] and "of CPU (budget 60 s)" in test["output"]


def test_a_linear_model_scores_nothing_and_is_named(cli, submission):
    code, data = check_json(cli, "train-spiral-classifier", submission(LINEAR))
    assert code == 1
    assert data["score"] < 1  # at most 46% accuracy: nothing, or next to nothing, on each case
    hidden = [t for t in data["tests"] if not t["visible"]][0]
    assert hidden["score"] == 0 and hidden["metric"]["value"] <= 0.6
    assert all(t["mistake"] == "linear-model" for t in data["tests"])
    assert any("nonlinearity" in line for line in data["feedback"])


def test_labels_instead_of_logits_is_a_bad_output_named(cli, submission):
    code, data = check_json(cli, "train-spiral-classifier", submission(RETURNS_LABELS))
    assert code == 1 and data["score"] == 0
    for test in data["tests"]:
        assert test["outcome"] == "bad_output" and test["mistake"] == "labels-not-logits"
        assert "shape (300,), expected (300, 3)" in test["output"]


def test_text_output_states_metric_threshold_and_time(cli, submission):
    result = cli("check", "train-spiral-classifier", submission(LINEAR))
    assert result.exit_code == 1
    assert "accuracy" in result.output and "full marks at ≥ 0.9" in result.output and "none at ≤ 0.6" in result.output
    assert "s of CPU (budget 60 s)" in result.output and "linear-model" in result.output


def test_fixture_problem_reads_its_csv_and_is_scored_by_mse(cli, submission):
    code, data = check_json(cli, "train-csv-regressor", submission(GOOD_CSV))
    assert code == 0, data
    assert all(t["metric"]["name"] == "mse" and t["metric"]["value"] <= 0.05 for t in data["tests"])


def test_fixture_problem_column_output_is_named(cli, submission):
    code, data = check_json(cli, "train-csv-regressor", submission(CSV_COLUMN))
    assert code == 1 and data["score"] == 0
    assert all(t["mistake"] == "column-output" and "expected (100,)" in t["output"] for t in data["tests"])


def test_show_explains_the_training_task(cli):
    result = cli("show", "train-spiral-classifier")
    assert result.exit_code == 0
    assert "train_model(X, y) -> nn.Module" in result.output
    assert "Scored by accuracy on the held-out points: full marks at ≥ 0.9, none at ≤ 0.6" in result.output
    assert "X: tensor of shape (300, 2), float32, y: tensor of shape (300,), int64" in result.output
    assert "60 s of CPU" in result.output
    data = json.loads(cli("show", "train-csv-regressor", "--json").output)
    assert data["kind"] == "training" and data["budget"]["cpu"] == 60
    assert any("fixtures/regression-train.csv" in line for line in data["training"])


SHOWN_SOLUTION = """
import torch
from torch import nn


def train_model(X, y):
    print("trains on", tuple(X.shape), tuple(y.shape), float(X.double().sum()), torch.rand(1).item())
    return nn.Linear(2, 3)
"""


def test_show_case_says_what_a_training_case_is(cli):
    result = cli("show", "train-spiral-classifier", "--case", "spirals-300")
    assert result.exit_code == 0, result.stderr
    code = result.output
    assert "train_model(X, y) once, then predicts 300 held-out points in eval mode without gradients" in code
    assert "Scored by accuracy on the held-out points: full marks at ≥ 0.9, none at ≤ 0.6" in code
    assert "Budget: 60 s of CPU for training" in code
    assert "X = inputs['X']  # tensor of shape (300, 2), float32" in code
    assert "model = train_model(X, y)" in code


def test_case_inputs_of_a_training_case_are_what_the_child_gets():
    from grader import case_inputs
    from grader.kinds.training import prepare_cases
    from grader.problems.bank import Bank

    bank = Bank()
    child = prepare_cases(bank.get("train-spiral-classifier"), bank, 3)[0].inputs
    rebuilt = case_inputs("train-spiral-classifier", "spirals-300", seed=3)
    assert rebuilt.keys() == {"X", "y"} and all(rebuilt[k].equal(child[k]) for k in child)
    assert case_inputs("train-csv-regressor", "visible-seed") == {"path": "fixtures/regression-train.csv"}


@pytest.mark.slow  # a fresh interpreter imports torch
def test_show_case_code_rebuilds_the_data_and_seeds_the_child_gets(cli, tmp_path):
    import os
    import subprocess
    import sys

    import torch

    from grader.kinds.training import case_seed, prepare_cases
    from grader.problems.bank import Bank

    code = cli("show", "train-spiral-classifier", "--case", "spirals-300").output
    (tmp_path / Bank().get("train-spiral-classifier").starter_file).write_text(SHOWN_SOLUTION)  # as `grader start` names it
    root = Path(__file__).resolve().parent.parent
    run = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, timeout=300,
                         env={**os.environ, "PYTHONPATH": f"{tmp_path}{os.pathsep}{root}"})
    assert run.returncode == 0, run.stderr
    bank = Bank()
    problem = bank.get("train-spiral-classifier")
    case = prepare_cases(problem, bank, 0)[0]  # what the child gets
    torch.manual_seed(case_seed(problem, case.case, 0))
    assert f"trains on (300, 2) (300,) {float(case.inputs['X'].double().sum())} {torch.rand(1).item()}" in run.stdout
    assert "Linear(in_features=2, out_features=3" in run.stdout


def test_show_case_of_a_hidden_or_fixture_training_case(cli):
    hidden = cli("show", "train-spiral-classifier", "--case", "spirals-450-noisier")
    assert hidden.exit_code == 0 and "(hidden): 450 training points" in hidden.output
    assert "predicts 300 held-out points" in hidden.output and "data is not shown" in hidden.output
    assert "case_inputs" not in hidden.output
    fixture = cli("show", "train-csv-regressor", "--case", "visible-seed")
    assert fixture.exit_code == 0 and "path = 'fixtures/regression-train.csv'" in fixture.output
    assert "full marks at ≤ 0.05, none at ≥ 0.5" in fixture.output
    unknown = cli("show", "train-spiral-classifier", "--case", "nope")
    assert unknown.exit_code == 2 and "has no case 'nope' (cases: spirals-300, spirals-450-noisier)" in unknown.stderr


def test_same_data_per_seed_and_other_data_for_another(cli):
    from grader.problems.bank import Bank
    from grader.kinds.training import prepare_cases

    bank = Bank()
    problem = bank.get("train-spiral-classifier")
    first, again, other = (prepare_cases(problem, bank, seed) for seed in (0, 0, 7))
    for a, b, c in zip(first, again, other):
        assert a.call.args[0].shape[0] >= 300 and a.call.args[0].dtype.is_floating_point
        assert all((x == y).all() for x, y in zip(a.call.args, b.call.args)) and (a.labels == b.labels).all()
        assert not (a.call.args[0] == c.call.args[0]).all()
        assert "labels" not in a.call.plan and not any((v is a.labels) for v in a.call.plan.values())


# ---------------------------------------------------------------- a tiny problem for hostile code

TINY_REFERENCE = '''
import numpy as np
import torch
from torch import nn


def blobs(seed, fixtures, n=40):
    """Two Gaussian blobs at (-2, -2) and (2, 2); the held-out labels stay with the grader."""
    rng = np.random.default_rng(seed)

    def draw(count):
        y = np.arange(count) % 2
        X = rng.standard_normal((count, 2)) * 0.5 + (4.0 * y[:, None] - 2.0)
        return torch.from_numpy(X.astype(np.float32)), torch.from_numpy(y.astype(np.int64))

    X, y = draw(n)
    X_test, y_test = draw(40)
    return {"inputs": {"X": X, "y": y}, "heldout": X_test, "labels": y_test}


def train(X, y):
    model = nn.Linear(2, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    for _ in range(50):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(X), y).backward()
        optimizer.step()
    return model
'''

TINY_MISTAKES = '''
import torch
from torch import nn

from reference.tiny import train


def flipped(X, y):
    return train(X, 1 - y)


def constant(X, y):
    model = nn.Linear(2, 2)
    with torch.no_grad():
        model.weight.zero_()
        model.bias.copy_(torch.tensor([1.0, 0.0]))
    return model


class _Labels(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x).argmax(1)


def labels(X, y):
    return _Labels(train(X, y))
'''

TINY_SPEC = '''
id: tiny-train
title: Separate two blobs
topic: tiny
points: 4
kind: training
statement: Implement `train_model(X, y)` returning an nn.Module mapping (m, 2) points to (m, 2) logits.
entry_point: {name: train_model, signature: "train_model(X, y) -> nn.Module"}
starter: |
  def train_model(X, y):
      raise NotImplementedError
reference: tiny:train
data: tiny:blobs
fixtures: [notes.txt]
metric: {name: accuracy, classes: 2, full: 0.9, zero: 0.6}
budget: {cpu: 3, wall: 40}
limits: {memory_mb: 2048}
cases:
  - name: blobs
    data: {n: 40}
mistakes:
  - {name: flipped, impl: "mistakes.tiny:flipped", detect: {metric: [0.0, 0.2]}, feedback: "labels swapped"}
  - {name: constant, impl: "mistakes.tiny:constant", detect: {metric: [0.2, 0.6]}, feedback: "one class for all"}
  - {name: labels, impl: "mistakes.tiny:labels", detect: {shape: [m]}, feedback: "labels, not logits"}
'''

GOOD_TINY = """
import torch
from torch import nn


def good_model(X, y):
    model = nn.Linear(2, 2)
    optimizer = torch.optim.Adam(model.parameters(), lr=0.1)
    for _ in range(50):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(X), y).backward()
        optimizer.step()
    return model
"""


@pytest.fixture(scope="module")
def tiny_bank(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("tiny-bank")
    (root / "reference" / "mistakes").mkdir(parents=True)
    (root / "reference" / "__init__.py").write_text("")
    (root / "reference" / "mistakes" / "__init__.py").write_text("")
    (root / "reference" / "tiny.py").write_text(TINY_REFERENCE)
    (root / "reference" / "mistakes" / "tiny.py").write_text(TINY_MISTAKES)
    (root / "problems" / "tiny" / "fixtures").mkdir(parents=True)
    (root / "problems" / "tiny" / "tiny-train.yaml").write_text(TINY_SPEC)
    (root / "problems" / "tiny" / "fixtures" / "notes.txt").write_text("read me, do not write me\n")
    return root


def check_tiny(cli, tiny_bank, submission, body: str) -> dict:
    source = GOOD_TINY + textwrap.dedent(body)
    result = cli("--bank", tiny_bank, "check", "tiny-train", submission(source), "--json")
    assert result.exit_code in (0, 1), (result.output, result.stderr)
    data = result.json()
    assert not data["grader_error"]
    return data


def test_tiny_reference_style_passes_and_says_how_well(cli, tiny_bank, submission):
    source = GOOD_TINY + "\n\ndef train_model(X, y):\n    return good_model(X, y)\n"
    result = cli("--bank", tiny_bank, "check", "tiny-train", submission(source))
    assert result.exit_code == 0, result.output
    assert "PASS" in result.output and "accuracy 1 on 40 held-out points" in result.output
    assert "s of CPU (budget 3 s)" in result.output


def test_fixture_readable_not_writable(cli, tiny_bank, submission):
    data = check_tiny(cli, tiny_bank, submission, """
        import os

        def train_model(X, y):
            with open("fixtures/notes.txt") as fh:
                assert fh.read() == "read me, do not write me\\n", "fixture content differs"
            done = []
            attempts = [lambda: open("fixtures/notes.txt", "a").write("x"),
                        lambda: open("fixtures/new.txt", "w").write("x"),
                        lambda: os.chmod("fixtures/notes.txt", 0o666),
                        lambda: os.remove("fixtures/notes.txt"),
                        lambda: os.rename("fixtures/notes.txt", "moved.txt"),
                        lambda: os.rename("fixtures", "elsewhere")]
            for i, attempt in enumerate(attempts):
                try:
                    attempt()
                    done.append(i)
                except OSError:
                    pass
            if done:
                raise RuntimeError(f"changed the fixtures: attempts {done}")
            return good_model(X, y)
    """)
    assert data["score"] == 4, data["tests"][0]["output"]


def test_infinite_training_loop_stops_at_the_cpu_budget(cli, tiny_bank, submission):
    data = check_tiny(cli, tiny_bank, submission, """
        def train_model(X, y):
            while True:
                pass
    """)
    test = data["tests"][0]
    assert data["score"] == 0 and test["outcome"] == "cpu"
    assert "more than its CPU budget of 3 s" in test["output"]


def test_hanging_forward_hits_the_wall_limit(cli, tiny_bank, submission):
    data = check_tiny(cli, tiny_bank, submission, """
        import time
        from torch import nn

        class Sleepy(nn.Module):
            def forward(self, x):
                time.sleep(10 ** 6)

        def train_model(X, y):
            return Sleepy()
    """)
    assert data["score"] == 0 and data["tests"][0]["outcome"] == "timeout"


def test_too_much_memory_is_a_memory_result(cli, tiny_bank, submission):
    data = check_tiny(cli, tiny_bank, submission, """
        def train_model(X, y):
            hog = bytearray(6 << 30)  # 6 GB, past the problem's 2 GB
            return good_model(X, y)
    """)
    assert data["score"] == 0 and data["tests"][0]["outcome"] == "memory"


def test_a_flood_of_output_is_capped(cli, tiny_bank, submission):
    data = check_tiny(cli, tiny_bank, submission, """
        import sys

        def train_model(X, y):
            for _ in range(20000):
                print("loss " * 100)
                sys.stderr.write("warn " * 100 + "\\n")
            return good_model(X, y)
    """)
    assert data["score"] == 4
    assert "more bytes not shown" in data["stdout"] and len(data["stdout"]) < 100_000
    assert "more bytes not shown" in data["stderr"] and len(data["stderr"]) < 100_000


def test_forking_training_is_contained(cli, tiny_bank, submission):
    data = check_tiny(cli, tiny_bank, submission, """
        import os, time

        def train_model(X, y):
            for _ in range(200):  # the child's process limit stops this long before 200
                try:
                    if os.fork() == 0:
                        time.sleep(60)
                        os._exit(0)
                except OSError:
                    break
            return good_model(X, y)
    """)
    assert data["score"] == 4  # graded as usual; the sleepers die with the child's PID namespace


def test_the_labels_are_not_in_the_child(cli, tiny_bank, submission):
    bank = str(tiny_bank)
    data = check_tiny(cli, tiny_bank, submission, f"""
        import gc, os, torch
        from torch import nn

        def train_model(X, y):
            for root in ({bank!r}, "/proc/1/root" + {bank!r}):
                try:
                    os.listdir(root)
                    raise RuntimeError("saw the bank")
                except OSError:
                    pass
            found = [o for o in gc.get_objects() if type(o) is torch.Tensor and o.dtype == torch.int64
                     and o.ndim == 1 and o is not y and not torch.equal(o, y)]

            class Cheat(nn.Module):
                def forward(self, x):
                    for labels in found:
                        if len(labels) == len(x):
                            return nn.functional.one_hot(labels, 2).float()
                    return torch.stack([x[:, 0], x[:, 0]], 1) * 0  # no labels: a constant guess
            return Cheat()
    """)
    test = data["tests"][0]
    assert "saw the bank" not in test["output"]
    assert data["score"] == 0 and test["metric"]["value"] == 0.5


@pytest.mark.parametrize("body, words", [
    ("def train_model(X, y):\n    return [1, 2, 3]\n", "returned a list, not an nn.Module"),
    ("def train_model(X, y):\n    return None\n", "returned None, not an nn.Module"),
    ("from torch import nn\nclass M(nn.Module):\n    def forward(self, x):\n        return 'cat'\n"
     "def train_model(X, y):\n    return M()\n", "returned str, not a tensor"),
    ("import torch\nfrom torch import nn\nclass Sub(torch.Tensor):\n    pass\nclass M(nn.Module):\n"
     "    def forward(self, x):\n        return torch.zeros(len(x), 2).as_subclass(Sub)\n"
     "def train_model(X, y):\n    return M()\n", "tensor subclass"),
    ("import torch\nfrom torch import nn\nclass M(nn.Module):\n    def forward(self, x):\n"
     "        return torch.full((len(x), 2), float('nan'))\n"
     "def train_model(X, y):\n    return M()\n", "not finite"),
    ("import torch\nfrom torch import nn\nclass M(nn.Module):\n    def forward(self, x):\n"
     "        return torch.zeros(len(x), 7)\n"
     "def train_model(X, y):\n    return M()\n", "has shape (40, 7), expected (40, 2)"),
], ids=["list", "none", "str-output", "tensor-subclass", "nan", "wrong-shape"])
def test_junk_models_and_outputs_fail_with_a_message(cli, tiny_bank, submission, body, words):
    data = check_tiny(cli, tiny_bank, submission, body)
    test = data["tests"][0]
    assert data["score"] == 0 and test["outcome"] == "bad_output" and words in test["output"], test["output"]


def test_an_exception_while_training_names_the_line(cli, tiny_bank, submission):
    data = check_tiny(cli, tiny_bank, submission, "def train_model(X, y):\n    return X @ y\n")
    test = data["tests"][0]
    assert test["outcome"] == "exception" and test["output"].startswith("train_model(X, y): while training: ")
    assert "solution.py" in test["output"]


def test_validate_a_training_problem(cli, tiny_bank, tmp_path, monkeypatch):
    """Through the CLI, with a visible case added: every check passes and each mistake is killed
    and named, in the spec's order. The runs go on at once; a mistake trains on the hidden cases
    only (its verdict reads no other), the reference and the starter on every case; the template
    is warmed for training (its children build torch optimizers)."""
    import shutil

    from grader.authoring import validate as validation

    bank = tmp_path / "bank"
    shutil.copytree(tiny_bank, bank)
    spec = bank / "problems" / "tiny" / "tiny-train.yaml"
    spec.write_text(spec.read_text().replace("cases:\n", "cases:\n  - {name: shown, visible: true, data: {n: 40}}\n"))
    asked, ran = [], []

    class Recording:
        def __init__(self, inner):
            self.inner = inner

        def run(self, job):
            ran.append(job.label)
            return self.inner.run(job)

        def close(self):
            self.inner.close()

    make = validation.default_executor
    monkeypatch.setattr(validation, "default_executor", lambda training=False: asked.append(training) or
                        Recording(make(training)))
    result = cli("--bank", bank, "validate", spec, "--json")
    data = result.json()
    assert result.exit_code == 0, data
    report = data["problems"][0]
    checks = {c["name"]: c for c in report["checks"]}
    assert {"spec", "statement", "inputs", "reference", "mistakes", "starter"} <= set(checks)
    assert "full marks on 2 cases; trains in" in checks["reference"]["message"]
    assert [(m["name"], m["killed_by"], m["recognised"]) for m in report["mistakes"]] == [
        ("flipped", ["blobs"], True), ("constant", ["blobs"], True), ("labels", ["blobs"], True)]
    assert asked == [True]
    assert sorted(ran) == sorted([f"{who}:tiny-train:{case}" for who in ("tiny:train", "starter of tiny-train")
                                  for case in ("shown", "blobs")]
                                 + [f"mistakes.tiny:{name}:tiny-train:blobs" for name in ("flipped", "constant", "labels")])


DYNAMO_PROBE = GOOD_TINY + """
import sys


def train_model(X, y):
    print("dynamo already imported:", "torch._dynamo" in sys.modules)
    return good_model(X, y)
"""

#: a correct function problem's submission that says whether its child found torch._dynamo imported
CONV_PROBE = (ROOT / "examples" / "conv-output-size" / "correct.py").read_text() + """
import sys

print("dynamo already imported:", "torch._dynamo" in sys.modules)
"""


@pytest.mark.parametrize("training", [True, False])
def test_a_template_imports_what_an_optimizer_imports_once_training_comes(tiny_bank, submission, training):
    """Building any torch optimizer imports torch._dynamo (1.3-1.5 s of CPU per child). A template
    started for training (grader grade or validate of training problems) has imported it, once; a
    plain one (grader check, a class without training problems, the course service's worker)
    has not, so its start does not pay for it, until the first job that trains models comes:
    then it imports it itself, before forking that job's child, and keeps it for every child after."""
    from grader.classes.pool import AutoExecutor
    from grader.grading import grade
    from grader.problems.bank import Bank

    conv, model = submission(CONV_PROBE, name="conv.py"), submission(DYNAMO_PROBE, name="model.py")
    with AutoExecutor("fork", training=training) as executor:
        before = grade("conv-output-size", conv, bank=Bank(), executor=executor)
        template = executor._inner.server
        warmed_at_start = template.training
        trained = grade("tiny-train", model, bank=Bank(tiny_bank), executor=executor)
        after = grade("conv-output-size", conv, bank=Bank(), executor=executor)
        assert template.training and template.alive()
    assert warmed_at_start is training
    assert before.passed and after.passed and trained.score == 4, trained.tests[0].output
    assert f"dynamo already imported: {training}" in before.stdout
    assert "dynamo already imported: True" in trained.stdout
    assert "dynamo already imported: True" in after.stdout


def test_validate_rejects_a_mistake_that_passes(cli, tiny_bank, tmp_path):
    import shutil

    bank = tmp_path / "bank"
    shutil.copytree(tiny_bank, bank)
    spec = bank / "problems" / "tiny" / "tiny-train.yaml"
    spec.write_text(spec.read_text().replace('impl: "mistakes.tiny:constant"', 'impl: "tiny:train"'))
    result = cli("--bank", bank, "validate", spec)
    assert result.exit_code == 1
    assert "mistake 'constant' gets full marks on every hidden case" in result.output


def test_spec_errors_name_the_field(cli, tiny_bank, tmp_path):
    import shutil

    bank = tmp_path / "bank"
    shutil.copytree(tiny_bank, bank)
    spec = bank / "problems" / "tiny" / "tiny-train.yaml"
    spec.write_text(spec.read_text().replace("{name: accuracy, classes: 2,", "{name: accuracy,"))
    result = cli("--bank", bank, "show", "tiny-train")
    assert result.exit_code == 2 and "$.metric.classes" in result.stderr


def test_new_scaffolds_a_training_problem(cli, tmp_path):
    (tmp_path / "problems").mkdir()
    result = cli("--bank", tmp_path, "new", "blob-train", "--topic", "toy", "--kind", "training")
    assert result.exit_code == 0, result.stderr
    assert (tmp_path / "reference" / "toy.py").read_text().count("def blob_train") == 2
    assert (tmp_path / "reference" / "mistakes" / "toy.py").read_text().count("def blob_train_mistake_") == 3
    validated = cli("--bank", tmp_path, "validate", tmp_path / "problems" / "toy" / "blob-train.yaml")
    assert validated.exit_code == 1 and "the data function toy:blob_train_data" in validated.output
    assert "NotImplementedError: TODO" in validated.output


def test_start_writes_the_starter(cli, tmp_path):
    result = cli("start", "train-spiral-classifier", tmp_path / "train.py")
    assert result.exit_code == 0 and "def train_model(X, y):" in (tmp_path / "train.py").read_text()


# ---------------------------------------------------------------- a class run


def test_class_run_writes_training_results_everywhere(cli, tmp_path):
    klass = tmp_path / "class"
    klass.mkdir()
    (klass / "good.py").write_text(GOOD_SEQUENTIAL + "\n" + GOOD_CSV)
    (klass / "linear.py").write_text(LINEAR + "\n\ndef train_regressor(path):\n    raise ValueError('todo')\n")
    assignment = tmp_path / "assignment.yaml"
    assignment.write_text("name: Training HW\nproblems:\n  - train-spiral-classifier\n  - train-csv-regressor\n")
    out = tmp_path / "out"
    result = cli("grade", klass, "--assignment", assignment, "--out", out, "--jobs", "1", "--no-progress")
    assert result.exit_code == 0, (result.output, result.stderr)
    rows = {row["student"]: row for row in csv.DictReader((out / "grades.csv").open())}
    assert float(rows["good"]["total"]) == 20 and float(rows["linear"]["total"]) < 1
    junit = next(out.glob("*.xml")).read_text()
    assert "spirals-450-noisier" in junit and "linear-model" in junit
    student = json.loads((out / "students" / "linear.json").read_text())
    spiral = [p for p in student["problems"] if p["problem"] == "train-spiral-classifier"][0]
    assert spiral["kind"] == "training" and spiral["tests"][0]["metric"]["name"] == "accuracy"
    results = tmp_path / "results.json"
    single = cli("grade", klass / "linear.py", "--single", "--assignment", assignment, "--out", out,
                 "--gradescope", results, "--no-progress")
    assert single.exit_code == 0
    gradescope = json.loads(results.read_text())
    assert any("linear-model" in t["output"] for t in gradescope["tests"])
    classroom = cli("grade", klass / "good.py", "--single", "--assignment", assignment, "--out", out,
                    "--classroom", "--no-progress")
    assert classroom.exit_code == 0


@pytest.mark.slow
def test_bank_training_problems_validate(cli):
    result = cli("validate", Path(__file__).resolve().parent.parent / "problems" / "training", "--json")
    data = result.json()
    assert result.exit_code == 0, data
    for report in data["problems"]:
        assert report["killed"] == len(report["mistakes"]) >= 3
        assert all(m["recognised"] for m in report["mistakes"])


@pytest.mark.slow  # five class runs
def test_an_edited_fixture_regrades_the_class_and_an_unchanged_one_does_not(cli, tiny_bank, tmp_path):
    import shutil

    bank = tmp_path / "bank"
    shutil.copytree(tiny_bank, bank)
    fixtures = bank / "problems" / "tiny" / "fixtures"
    klass = tmp_path / "class"
    klass.mkdir()
    (klass / "plain.py").write_text(GOOD_TINY + "\n\ndef train_model(X, y):\n    return good_model(X, y)\n")
    (klass / "reader.py").write_text(GOOD_TINY + textwrap.dedent("""

        def train_model(X, y):
            with open("fixtures/notes.txt") as fh:
                if "version 2" not in fh.read():
                    raise ValueError("these notes are not version 2")
            return good_model(X, y)
        """))
    assignment = tmp_path / "assignment.yaml"
    assignment.write_text("name: Fixtures\nproblems:\n  - tiny-train\n")
    out = tmp_path / "out"

    def grade() -> tuple[str, dict]:
        result = cli("--bank", bank, "grade", klass, "--assignment", assignment, "--out", out, "--jobs", "1",
                     "--no-progress")
        assert result.exit_code in (0, 1), (result.output, result.stderr)
        totals = {row["student"]: float(row["total"]) for row in csv.DictReader((out / "grades.csv").open())}
        return result.output, totals

    output, totals = grade()
    assert "2 graded" in output and "0 from cache" in output and totals == {"plain": 4, "reader": 0}
    output, totals = grade()
    assert "0 graded" in output and "2 from cache" in output and totals == {"plain": 4, "reader": 0}
    (fixtures / "notes.txt").write_text("read me, version 2\n")  # what the child reads
    output, totals = grade()
    assert "2 graded" in output and "0 from cache" in output and totals == {"plain": 4, "reader": 4}
    (fixtures / "heldout.csv").write_text("x,y\n")  # a file only the trusted data function could read
    output, totals = grade()
    assert "2 graded" in output and "0 from cache" in output and totals == {"plain": 4, "reader": 4}
    output, _ = grade()
    assert "0 graded" in output and "2 from cache" in output


def test_the_cache_key_holds_every_fixture_file_of_a_training_problem(tiny_bank, tmp_path):
    import shutil

    from grader.classes.cache import reference_digest
    from grader.kinds import kind_of
    from grader.problems.bank import Bank

    shutil.copytree(tiny_bank, tmp_path / "bank")
    bank = Bank(tmp_path / "bank")
    problem = bank.get("tiny-train")
    folders = kind_of(problem.kind).data_folders(problem)
    assert folders == [tmp_path / "bank" / "problems" / "tiny" / "fixtures"]

    def digest() -> str:
        return reference_digest(bank.reference_dir, problem.spec, kind_of(problem.kind).data_folders(problem))

    first = digest()
    assert digest() == first and first != reference_digest(bank.reference_dir, problem.spec)
    (folders[0] / "notes.txt").write_text("edited\n")
    second = digest()
    assert second != first
    (folders[0] / "heldout.csv").write_text("x,y\n")  # read only by the trusted data function
    assert digest() not in (first, second)
    spiral = Bank().get("train-spiral-classifier")  # no fixtures: its key is as before
    assert kind_of(spiral.kind).data_folders(spiral) == []


def test_a_class_with_a_training_problem_gets_a_template_warmed_for_training(cli, tiny_bank, tmp_path):
    """`grader grade` asks for the warmed template when the assignment trains models: the import
    every optimizer makes (torch._dynamo) is paid once, not by each student's child."""
    klass = tmp_path / "class"
    klass.mkdir()
    (klass / "ada.py").write_text(GOOD_TINY + """
import sys


def train_model(X, y):
    print("dynamo already imported:", "torch._dynamo" in sys.modules)
    return good_model(X, y)
""")
    assignment = tmp_path / "assignment.yaml"
    assignment.write_text("name: Tiny\nproblems:\n  - tiny-train\n")
    out = tmp_path / "out"
    result = cli("--bank", tiny_bank, "grade", klass, "--assignment", assignment, "--out", out, "--jobs", "1",
                 "--no-progress")
    assert result.exit_code == 0, (result.output, result.stderr)
    student = json.loads((out / "students" / "ada.json").read_text())
    assert "dynamo already imported: True" in student["problems"][0]["stdout"], student["problems"][0]


@pytest.mark.slow
def test_the_course_service_warms_its_template_for_a_training_assignment(tiny_bank, tmp_path):
    """The course service's worker starts a plain template (it serves every assignment); the
    template warms up when the first job that trains models is launched, so the student's child
    finds torch._dynamo imported, as in `grader grade`."""
    from click.testing import CliRunner
    from service_helpers import Server, post, wait_graded, write_yaml

    from grader.cli.main import main

    db_url = f"sqlite:///{tmp_path / 'course.db'}"
    assignment = write_yaml(tmp_path / "tiny.yaml", "name: tiny\nproblems: [tiny-train]\n")
    (tmp_path / "roster.csv").write_text("student,email\nada,ada@example.org\n")
    tokens = CliRunner().invoke(main, ["tokens", str(tmp_path / "roster.csv"), "--db", db_url,
                                       "--out", str(tmp_path / "tokens.csv")])
    assert tokens.exit_code == 0, tokens.output
    token = (tmp_path / "tokens.csv").read_text().splitlines()[1].split(",")[-1]
    server = Server(tmp_path, db_url, [assignment], jobs=1, env=dict(os.environ, GRADER_BANK=str(tiny_bank)))
    try:
        reply = post(server.url, token, "tiny", {"model.py": DYNAMO_PROBE})
        assert reply.status_code in (200, 201, 202), reply.text
        graded = wait_graded(server.url, token, reply.json()["id"])
    finally:
        server.stop()
    assert graded["state"] == "graded", graded
    assert "dynamo already imported: True" in json.dumps(graded), graded
