"""Kind `steps` through the real CLI: calls in sequence with the student's own values kept in the child."""
from __future__ import annotations

import json
import textwrap
import xml.etree.ElementTree as ET

import pytest

AFFINE_LOOPS = """
    from builtins import range
    import numpy as np


    def affine_forward(x, w, b):
        N = x.shape[0]
        x2 = x.reshape(N, -1)
        out = np.zeros((N, w.shape[1]))
        for i in range(N):
            out[i] = x2[i].dot(w) + b
        cache = (x, w, b)
        return out, cache


    def affine_backward(dout, cache):
        x, w, b = cache
        dx = dout.dot(w.T).reshape(x.shape)
        dw = x.reshape(x.shape[0], -1).T.dot(dout)
        db = np.sum(dout, axis=0)
        return dx, dw, db
"""

AFFINE_DICT_CACHE = """
    import numpy as np

    def affine_forward(x, w, b):
        return x.reshape(len(x), -1) @ w + b, {"x_shape": x.shape, "x2": x.reshape(len(x), -1), "w": w}

    def affine_backward(dout, cache):
        return (dout @ cache["w"].T).reshape(cache["x_shape"]), cache["x2"].T @ dout, dout.sum(axis=0)
"""

AFFINE_DX_FLAT = """
    def affine_forward(x, w, b):
        return x.reshape(x.shape[0], -1) @ w + b, (x, w, b)

    def affine_backward(dout, cache):
        x, w, b = cache
        return dout @ w.T, x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)
"""

ADAM_EFFICIENT = """
    import numpy as np

    def adam(w, dw, config=None):
        # the Adam paper's efficient form: bias corrections folded into the step size
        config = {} if config is None else config
        lr, b1, b2 = config.get("learning_rate", 1e-3), config.get("beta1", 0.9), config.get("beta2", 0.999)
        m = b1 * config.get("m", np.zeros_like(w)) + (1 - b1) * dw
        v = b2 * config.get("v", np.zeros_like(w)) + (1 - b2) * dw * dw
        t = config.get("t", 0) + 1
        step = lr * np.sqrt(1 - b2 ** t) / (1 - b1 ** t)
        config.update(m=m, v=v, t=t)
        return w - step * m / (np.sqrt(v) + config.get("epsilon", 1e-8)), config
"""

ADAM_NOT_STORED = """
    import numpy as np

    def adam(w, dw, config=None):
        if config is None:
            config = {}
        for key, value in (("learning_rate", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("epsilon", 1e-8), ("t", 0)):
            config.setdefault(key, value)
        config.setdefault("m", np.zeros_like(w))
        config.setdefault("v", np.zeros_like(w))
        t = config["t"] + 1
        m = config["beta1"] * config["m"] + (1 - config["beta1"]) * dw
        v = config["beta2"] * config["v"] + (1 - config["beta2"]) * dw ** 2
        m_hat, v_hat = m / (1 - config["beta1"] ** t), v / (1 - config["beta2"] ** t)
        return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config
"""

# A CS231n-style layers.py: many functions, the course's docstrings, Python 2/3 imports.
LAYERS = '''
    from builtins import range
    from past.builtins import xrange
    import numpy as np


    def affine_forward(x, w, b):
        """
        Computes the forward pass for an affine (fully-connected) layer.

        Inputs:
        - x: A numpy array containing input data, of shape (N, d_1, ..., d_k)
        - w: A numpy array of weights, of shape (D, M)
        - b: A numpy array of biases, of shape (M,)

        Returns a tuple of:
        - out: output, of shape (N, M)
        - cache: (x, w, b)
        """
        out = None
        ###########################################################################
        # TODO: Implement the affine forward pass. Store the result in out.       #
        ###########################################################################
        out = x.reshape(x.shape[0], -1).dot(w) + b
        ###########################################################################
        #                             END OF YOUR CODE                            #
        ###########################################################################
        cache = (x, w, b)
        return out, cache


    def affine_backward(dout, cache):
        """
        Computes the backward pass for an affine layer.

        Returns a tuple of:
        - dx: Gradient with respect to x, of shape (N, d1, ..., d_k)
        - dw: Gradient with respect to w, of shape (D, M)
        - db: Gradient with respect to b, of shape (M,)
        """
        x, w, b = cache
        dx, dw, db = None, None, None
        dx = dout.dot(w.T).reshape(x.shape)
        dw = x.reshape(x.shape[0], -1).T.dot(dout)
        db = np.sum(dout, axis=0)
        return dx, dw, db


    def relu_forward(x):
        """Computes the forward pass for a layer of rectified linear units (ReLUs)."""
        return np.maximum(0, x), x


    def relu_backward(dout, cache):
        """Computes the backward pass for a layer of rectified linear units (ReLUs)."""
        return dout * (cache > 0)


    def batchnorm_forward(x, gamma, beta, bn_param):
        """
        Forward pass for batch normalization.

        running_mean = momentum * running_mean + (1 - momentum) * sample_mean
        running_var = momentum * running_var + (1 - momentum) * sample_var
        """
        mode = bn_param["mode"]
        eps = bn_param.get("eps", 1e-5)
        momentum = bn_param.get("momentum", 0.9)

        N, D = x.shape
        running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
        running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))

        out, cache = None, None
        if mode == "train":
            sample_mean = np.zeros(D)
            for j in xrange(D):
                sample_mean[j] = x[:, j].sum() / N
            sample_var = ((x - sample_mean) ** 2).mean(axis=0)
            x_norm = (x - sample_mean) / np.sqrt(sample_var + eps)
            out = gamma * x_norm + beta
            cache = {"x_norm": x_norm, "gamma": gamma, "var": sample_var, "eps": eps}
            running_mean = momentum * running_mean + (1 - momentum) * sample_mean
            running_var = momentum * running_var + (1 - momentum) * sample_var
        elif mode == "test":
            out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
        else:
            raise ValueError('Invalid forward batchnorm mode "%s"' % mode)

        # Store the updated running means back into bn_param
        bn_param["running_mean"] = running_mean
        bn_param["running_var"] = running_var

        return out, cache


    def batchnorm_backward(dout, cache):
        """Backward pass for batch normalization (the computation graph, node by node)."""
        x_norm, gamma, var, eps = cache["x_norm"], cache["gamma"], cache["var"], cache["eps"]
        N = dout.shape[0]
        dbeta = dout.sum(axis=0)
        dgamma = (dout * x_norm).sum(axis=0)
        dx_norm = dout * gamma
        std = np.sqrt(var + eps)
        dx = (dx_norm - dx_norm.mean(axis=0) - x_norm * (dx_norm * x_norm).mean(axis=0)) / std
        return dx, dgamma, dbeta


    def batchnorm_backward_alt(dout, cache):
        return batchnorm_backward(dout, cache)
'''

BATCHNORM_NOT_STORED = """
    import numpy as np

    def batchnorm_forward(x, gamma, beta, bn_param):
        eps, momentum = bn_param.get("eps", 1e-5), bn_param.get("momentum", 0.9)
        running_mean = bn_param.get("running_mean", np.zeros(x.shape[1]))
        running_var = bn_param.get("running_var", np.zeros(x.shape[1]))
        if bn_param["mode"] == "train":
            mu, var = x.mean(axis=0), x.var(axis=0)
            running_mean = momentum * running_mean + (1 - momentum) * mu
            running_var = momentum * running_var + (1 - momentum) * var
        else:
            mu, var = running_mean, running_var
        x_hat = (x - mu) / np.sqrt(var + eps)
        return gamma * x_hat + beta, (x_hat, gamma, np.sqrt(var + eps))

    def batchnorm_backward(dout, cache):
        x_hat, gamma, std = cache
        dxh = dout * gamma
        return (dxh - dxh.mean(0) - x_hat * (dxh * x_hat).mean(0)) / std, (dout * x_hat).sum(0), dout.sum(0)
"""


def check(cli, problem: str, path) -> tuple[int, dict]:
    result = cli("check", problem, path, "--json")
    return result.exit_code, json.loads(result.output)


def failures(data: dict) -> list[dict]:
    return [t for t in data["tests"] if t["status"] != "passed"]


@pytest.mark.parametrize("source", [AFFINE_LOOPS, AFFINE_DICT_CACHE], ids=["loops-tuple-cache", "vectorised-dict-cache"])
def test_affine_layer_full_marks_through_the_students_own_cache(cli, submission, source):
    code, data = check(cli, "affine-layer-cs231n", submission(source))
    assert code == 0, failures(data)
    assert data["score"] == data["max_score"] == 10


def test_affine_backward_without_reshape_loses_marks_with_the_step_and_mistake_named(cli, submission):
    code, data = check(cli, "affine-layer-cs231n", submission(AFFINE_DX_FLAT))
    assert code == 1
    wrong = failures(data)
    assert wrong and data["score"] < 10
    assert all(t["mistake"] == "dx-not-reshaped" for t in wrong)
    assert "step 2 `affine_backward(dout, cache)`: `dx`" in wrong[0]["output"]


def test_adam_efficient_form_passes_and_state_not_stored_is_named(cli, submission):
    code, data = check(cli, "adam-cs231n", submission(ADAM_EFFICIENT, "eff.py"))
    assert code == 0, failures(data)
    code, data = check(cli, "adam-cs231n", submission(ADAM_NOT_STORED, "lost.py"))
    assert code == 1 and data["score"] == 0
    assert {t["mistake"] for t in data["tests"]} == {"state-not-stored"}
    assert "(call 1 of 12)" in data["tests"][0]["output"]


def test_cs231n_layers_file_is_graded_unchanged_for_each_problem_it_defines(cli, submission):
    path = submission(LAYERS, "layers.py")
    for problem in ("affine-layer-cs231n", "batchnorm-cs231n"):
        code, data = check(cli, problem, path)
        assert code == 0, (problem, failures(data))


def test_cs231n_package_folder_with_relative_imports(cli, tmp_path):
    package = tmp_path / "hw" / "cs231n"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "fast_layers.py").write_text(textwrap.dedent(LAYERS))
    (package / "layers.py").write_text("from .fast_layers import *\n\n\ndef unrelated():\n    pass\n")
    (package / "layer_utils.py").write_text("from cs231n.layers import *\n\n\ndef affine_relu_forward(x, w, b):\n"
                                            "    return relu_forward(affine_forward(x, w, b)[0])\n")
    code, data = check(cli, "affine-layer-cs231n", tmp_path / "hw")
    assert code == 0, (data.get("error"), failures(data))


def test_running_statistics_not_stored_fails_the_step_and_names_the_mistake(cli, submission):
    code, data = check(cli, "batchnorm-cs231n", submission(BATCHNORM_NOT_STORED))
    assert code == 1 and data["score"] == 0
    first = data["tests"][0]
    assert "bn_param has no key 'running_mean'" in first["output"]
    assert first["mistake"] == "running-stats-not-stored"


@pytest.mark.parametrize("body, outcome", [
    ("import time\n    while True:\n        time.sleep(0.1)", "timeout"),
    ("import os\n    pid = os.fork()\n    if pid == 0:\n        os._exit(0)\n    os.waitpid(pid, 0)\n"
     "    return x.reshape(len(x), -1) @ w + b, 'ok'", None),
    ("class Weird(np.ndarray):\n        pass\n    return (x.reshape(len(x), -1) @ w + b).view(Weird), None", "bad_output"),
    ("print('x' * 10_000_000)\n    return x.reshape(len(x), -1) @ w + b, object()", None),
], ids=["hangs", "forks", "ndarray-subclass", "huge-output-and-odd-cache"])
def test_hostile_forward_is_contained(cli, submission, body, outcome):
    source = f"""
import numpy as np

def affine_forward(x, w, b):
    {body}

def affine_backward(dout, cache):
    raise RuntimeError("backward not written")
"""
    path = submission(source)
    result = cli("check", "affine-layer-cs231n", path, "--json", "--time-limit", "2")
    data = json.loads(result.output)
    assert result.exit_code == 1 and data["score"] == 0
    first = data["tests"][0]
    if outcome:
        assert first["outcome"] == outcome, first
    else:  # the forward ran: the backward's own error is named with its step
        assert first["outcome"] == "exception" and "step 2 `affine_backward(dout, cache)`" in first["output"]
        assert "backward not written" in first["output"]


def test_show_explains_the_steps_and_rebuilds_a_case(cli):
    result = cli("show", "batchnorm-cs231n")
    assert result.exit_code == 0
    assert "step 1 `batchnorm_forward(x[i], gamma, beta, bn_param)` -> (out, cache), 3 times" in result.output
    assert "compared: out, bn_param.running_mean, bn_param.running_var" in result.output
    code = cli("show", "adam-cs231n", "--case", "defaults").output
    assert "for i in range(12):" in code and "w, config = adam(w, dw[i], config)" in code


def test_validate_proves_every_mistake_fails(cli):
    result = cli("validate", "problems/cs231n/affine-layer-cs231n.yaml", "problems/cs231n/adam-cs231n.yaml",
                 "problems/cs231n/batchnorm-cs231n.yaml")
    assert result.exit_code == 0, result.output
    assert "3 of 3 problems valid" in result.output
    assert result.output.count("4/4 killed") == 3


def test_a_class_run_writes_steps_problems_to_every_output(cli, tmp_path, submission):
    klass = tmp_path / "class"
    for name, affine, adam in (("alice", AFFINE_LOOPS, ADAM_EFFICIENT), ("bob", AFFINE_DX_FLAT, ADAM_NOT_STORED)):
        (klass / name).mkdir(parents=True)
        (klass / name / "layers.py").write_text(textwrap.dedent(affine))
        (klass / name / "optim.py").write_text(textwrap.dedent(adam))
    assignment = tmp_path / "a.yaml"
    assignment.write_text("name: hw2\nproblems:\n  - {id: affine-layer-cs231n, file: layers.py}\n"
                          "  - {id: adam-cs231n, file: optim.py}\n")
    out = tmp_path / "out"
    result = cli("grade", klass, "--assignment", assignment, "--out", out, "--no-progress")
    assert result.exit_code == 0, result.output + result.stderr
    grades = (out / "grades.csv").read_text()
    assert "affine-layer-cs231n" in grades and "adam-cs231n" in grades
    rows = {line.split(",")[0]: line for line in grades.splitlines()[1:]}
    assert rows["alice"].split(",")[1:3] == ["10", "10"] or "20" in rows["alice"]
    junit = ET.parse(out / "junit.xml").getroot()
    names = {case.get("classname", "") + case.get("name", "") for case in junit.iter("testcase")}
    assert any("adam-cs231n" in n for n in names) and any("affine-layer-cs231n" in n for n in names)
    bob = json.loads((out / "students" / "bob.json").read_text())
    assert "dx-not-reshaped" in json.dumps(bob) and "state-not-stored" in json.dumps(bob)
    result = cli("grade", klass / "bob", "--single", "--assignment", assignment, "--out", tmp_path / "one",
                 "--gradescope", tmp_path / "results.json")
    gradescope = json.loads((tmp_path / "results.json").read_text())
    assert any("adam-cs231n" in t["name"] for t in gradescope["tests"]) and gradescope["score"] < 20


KNN_LOOPS = """
    from builtins import range, object
    from past.builtins import xrange
    import numpy as np


    class KNearestNeighbor(object):
        \"\"\" a kNN classifier with L2 distance \"\"\"

        def train(self, X, y):
            self.X_train = X
            self.y_train = y

        def compute_distances(self, X):
            dists = np.zeros((X.shape[0], self.X_train.shape[0]))
            for i in range(X.shape[0]):
                for j in xrange(self.X_train.shape[0]):
                    dists[i, j] = np.sqrt(np.sum((X[i] - self.X_train[j]) ** 2))
            return dists

        def predict(self, X, k=1):
            dists = self.compute_distances(X)
            y_pred = np.zeros(X.shape[0])
            for i in range(X.shape[0]):
                y_pred[i] = np.argmax(np.bincount(self.y_train[np.argsort(dists[i])[:k]]))
            return y_pred.astype(int)
"""


def test_knn_class_built_by_the_students_code_then_trained_and_asked(cli, submission):
    code, data = check(cli, "knn-classifier", submission(KNN_LOOPS))
    assert code == 0, failures(data)
    squared = KNN_LOOPS.replace("np.sqrt(np.sum((X[i] - self.X_train[j]) ** 2))", "np.sum((X[i] - self.X_train[j]) ** 2)")
    code, data = check(cli, "knn-classifier", submission(squared, "squared.py"))
    assert code == 1
    assert {t["mistake"] for t in failures(data)} == {"squared-distances"}
    assert "step 3 `model.compute_distances(X_test)`" in failures(data)[0]["output"]
    larger = KNN_LOOPS.replace("np.argmax(np.bincount(self.y_train[np.argsort(dists[i])[:k]]))",
                               "(lambda c: len(c) - 1 - np.argmax(c[::-1]))(np.bincount(self.y_train[np.argsort(dists[i])[:k]]))")
    code, data = check(cli, "knn-classifier", submission(larger, "larger.py"))
    assert code == 1 and {t["mistake"] for t in failures(data)} == {"ties-to-larger-label"}


KNN_CS231N_FLOAT_LABELS = """
    from builtins import range
    from builtins import object
    import numpy as np
    from past.builtins import xrange


    class KNearestNeighbor(object):
        \"\"\" a kNN classifier with L2 distance \"\"\"

        def __init__(self):
            pass

        def train(self, X, y):
            self.X_train = X
            self.y_train = y

        def compute_distances(self, X):
            return self.compute_distances_no_loops(X)

        def compute_distances_no_loops(self, X):
            squared = np.sum(X ** 2, axis=1)[:, None] + np.sum(self.X_train ** 2, axis=1) - 2 * X.dot(self.X_train.T)
            return np.sqrt(np.maximum(squared, 0))

        def predict(self, X, k=1):
            return self.predict_labels(self.compute_distances(X), k=k)

        def predict_labels(self, dists, k=1):
            num_test = dists.shape[0]
            y_pred = np.zeros(num_test)
            for i in range(num_test):
                closest_y = self.y_train[np.argsort(dists[i])[:k]]
                y_pred[i] = np.argmax(np.bincount(closest_y))
            return y_pred
"""


def test_knn_float_labels_from_the_cs231n_starter_are_labels_and_fractions_are_not(cli, submission):
    code, data = check(cli, "knn-classifier", submission(KNN_CS231N_FLOAT_LABELS))
    assert code == 0 and data["score"] == 10, failures(data)
    mean = KNN_CS231N_FLOAT_LABELS.replace("np.argmax(np.bincount(closest_y))", "np.mean(closest_y)")
    code, data = check(cli, "knn-classifier", submission(mean, "mean.py"))
    assert code == 1
    assert {t["name"] for t in failures(data)} >= {"five-neighbours", "ties", "three-neighbours"}
    message = next(t for t in failures(data) if t["name"] == "five-neighbours")["output"]
    assert "step 4 `model.predict(X_test, k=k)`: `y_pred`: output holds" in message
    assert "not a whole number: expected int64 labels" in message
    larger = KNN_CS231N_FLOAT_LABELS.replace("np.argmax(np.bincount(closest_y))",
                                             "(lambda c: len(c) - 1 - np.argmax(c[::-1]))(np.bincount(closest_y))")
    code, data = check(cli, "knn-classifier", submission(larger, "larger.py"))
    assert code == 1 and {t["mistake"] for t in failures(data)} == {"ties-to-larger-label"}


def test_show_case_code_of_a_steps_case_with_big_inputs_runs(cli, tmp_path, monkeypatch, capsys):
    import sys

    code = cli("show", "knn-classifier", "--case", "ties").output
    assert "names = case_inputs('knn-classifier', 'ties')" in code
    solution = textwrap.dedent(KNN_LOOPS).replace("from past.builtins import xrange", "xrange = range")
    (tmp_path / "KNearestNeighbor.py").write_text(solution)  # the file `grader start knn-classifier` writes
    monkeypatch.syspath_prepend(str(tmp_path))
    try:
        exec(compile(code, "shown.py", "exec"), {})
    finally:
        sys.modules.pop("KNearestNeighbor", None)
    printed = capsys.readouterr().out
    assert "dists [[" in printed and "y_pred [" in printed


SGD_SUBCLASS = """
    import torch


    class SGDMomentum(torch.optim.Optimizer):
        def __init__(self, params, lr=0.01, momentum=0.9):
            super().__init__(params, dict(lr=lr, momentum=momentum))

        @torch.no_grad()
        def step(self, closure=None):
            for group in self.param_groups:
                for p in group["params"]:
                    if p.grad is None:
                        continue
                    state = self.state[p]
                    if "v" not in state:
                        state["v"] = torch.zeros_like(p)
                    state["v"].mul_(group["momentum"]).add_(p.grad)
                    p.add_(state["v"], alpha=-group["lr"])
"""

SGD_PLAIN = """
    class SGDMomentum:
        def __init__(self, params, lr=0.01, momentum=0.9):
            self.params, self.lr, self.momentum = list(params), lr, momentum
            self.v = [p.detach() * 0 for p in self.params]

        def zero_grad(self):
            for p in self.params:
                if p.grad is not None:
                    p.grad.zero_()

        def step(self):
            for i, p in enumerate(self.params):
                self.v[i] = self.momentum * self.v[i] + p.grad
                p.data -= self.lr * self.v[i]
"""


@pytest.mark.parametrize("source", [SGD_SUBCLASS, SGD_PLAIN], ids=["optim-Optimizer-subclass", "plain-class"])
def test_sgd_momentum_optimizer_both_styles_pass(cli, submission, source):
    code, data = check(cli, "sgd-momentum-optimizer", submission(source))
    assert code == 0, failures(data)


def test_sgd_parameter_rebound_is_named_after_the_first_step(cli, submission):
    rebound = SGD_PLAIN.replace("p.data -= self.lr * self.v[i]", "p = p - self.lr * self.v[i]")
    code, data = check(cli, "sgd-momentum-optimizer", submission(rebound))
    assert code == 1 and data["score"] == 0
    assert {t["mistake"] for t in data["tests"]} == {"parameter-rebound"}
    assert "step 2 `w.grad = gw[i]; b.grad = gb[i]; opt.step()` (call 1 of 10)" in data["tests"][0]["output"]


def test_numerical_gradient_of_a_memoised_forward_fails_the_gradient_check_step(cli, submission):
    memoised = """
        import numpy as np
        _seen = {}

        def affine_forward(x, w, b):
            key = x.shape  # a memo keyed by shape: right once, blind to later changes of x
            if key not in _seen:
                _seen[key] = x.reshape(x.shape[0], -1) @ w
            return _seen[key] + b, (x, w, b)

        def affine_backward(dout, cache):
            x, w, b = cache
            return (dout @ w.T).reshape(x.shape), x.reshape(x.shape[0], -1).T @ dout, dout.sum(axis=0)
    """
    code, data = check(cli, "affine-layer-cs231n", submission(memoised))
    assert code == 1
    assert all("step 3 numerical gradient of `affine_forward(x, w, b)`: `dx` (your analytic gradient) does not match "
               "`num_dx`" in t["output"] for t in failures(data))


def test_agree_checks_the_students_backward_against_their_own_forward(cli, tmp_path, submission):
    """A problem that compares no backward values with the reference, only the gradient check."""
    import shutil

    from grader.problems.bank import default_bank_root

    root = default_bank_root()
    bank = tmp_path / "bank"
    shutil.copytree(root / "reference", bank / "reference", ignore=shutil.ignore_patterns("__pycache__"))
    spec = (root / "problems" / "cs231n" / "affine-layer-cs231n.yaml").read_text()
    spec = spec.replace("    compare: [dx, dw, db]\n", "    send: [dx, dw, db]\n")
    (bank / "problems" / "cs231n").mkdir(parents=True)
    (bank / "problems" / "cs231n" / "affine-layer-cs231n.yaml").write_text(spec)
    db_mean = AFFINE_LOOPS.replace("db = np.sum(dout, axis=0)", "db = np.mean(dout, axis=0)")
    result = cli("--bank", bank, "check", "affine-layer-cs231n", submission(db_mean), "--json")
    data = json.loads(result.output)
    assert result.exit_code == 1, data
    wrong = failures(data)
    assert wrong and all("`db` (your analytic gradient) does not match `num_db`" in t["output"] for t in wrong)
    result = cli("--bank", bank, "check", "affine-layer-cs231n", submission(AFFINE_LOOPS, "ok.py"), "--json")
    assert result.exit_code == 0, result.output


def test_new_kind_steps_scaffolds_a_spec_that_validates_once_filled_in(cli, tmp_path):
    (tmp_path / "problems").mkdir()
    assert cli("--bank", tmp_path, "new", "scaled-layer", "--topic", "layers", "--kind", "steps").exit_code == 0
    reference = tmp_path / "reference" / "layers.py"
    reference.write_text(textwrap.dedent("""
        def scaled_layer_forward(x, w):
            return x @ w, (x, w)

        def scaled_layer_backward(dout, cache):
            x, w = cache
            return dout @ w.T, x.T @ dout
    """))
    (tmp_path / "reference" / "mistakes" / "layers.py").write_text(textwrap.dedent("""
        def scaled_layer_backward_mistake_1(dout, cache):
            x, w = cache
            return dout @ w.T, (x.T @ dout) / len(x)

        def scaled_layer_backward_mistake_2(dout, cache):
            x, w = cache
            return 0 * x, x.T @ dout

        def scaled_layer_backward_mistake_3(dout, cache):
            x, w = cache
            return dout @ w.T, 2 * x.T @ dout
    """))
    spec = tmp_path / "problems" / "layers" / "scaled-layer.yaml"
    spec.write_text(spec.read_text().replace("TODO: what `scaled_layer_forward", "`scaled_layer_forward"))
    result = cli("--bank", tmp_path, "validate", spec)
    assert result.exit_code == 0, result.output
    assert "3/3 killed" in result.output
