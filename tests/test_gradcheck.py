"""Gradient checks: float64 finite differences of a trusted forward, run as extra scored cases."""
from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import torch

from grader.kinds import kind_of
from grader.problems.bank import Bank
from grader.kinds.function.gradcheck import gradcheck_case_dicts, numerical_gradient
from grader.problems.inputs import Argument

ROOT = Path(__file__).resolve().parent.parent


def test_numerical_gradient_matches_autograd_for_several_inputs(tmp_path):
    (tmp_path / "problems").mkdir()
    (tmp_path / "reference").mkdir()
    (tmp_path / "reference" / "__init__.py").write_text("")
    (tmp_path / "reference" / "fw.py").write_text("def f(a, b):\n    return a * b.sin() + a ** 2\n")
    problem = SimpleNamespace(path="spec.yaml", spec={"gradcheck": {"forward": "fw:f", "wrt": ["a", "b"],
                                                                    "output_grad": "g"}})
    a, b, g = (torch.randn(3, 2, dtype=torch.float64) for _ in range(3))
    grads = numerical_gradient(problem, Bank(tmp_path), [Argument("a", a), Argument("b", b), Argument("g", g)])
    ta, tb = a.clone().requires_grad_(), b.clone().requires_grad_()
    ((ta * tb.sin() + ta ** 2) * g).sum().backward()
    assert torch.allclose(grads[0], ta.grad, rtol=1e-7, atol=1e-9)
    assert torch.allclose(grads[1], tb.grad, rtol=1e-7, atol=1e-9)


def test_sigmoid_backward_has_float64_gradcheck_cases():
    problem = Bank(ROOT).get("sigmoid-backward")
    names = [c["name"] for c in gradcheck_case_dicts(problem)]
    assert names == ["gradcheck-small", "gradcheck-vector"]
    assert kind_of(problem.kind).case_named(problem, "gradcheck-small")["dtype"] == "float64"


def test_gradcheck_cases_are_scored_through_the_engine(grade_source):
    right = grade_source("sigmoid-backward", """
        import torch

        def sigmoid_backward(x, grad_output):
            s = 1 / (1 + torch.exp(-x))
            return grad_output * s * (1 - s)
        """)
    checks = {t.name: t for t in right.tests if t.name.startswith("gradcheck-")}
    assert set(checks) == {"gradcheck-small", "gradcheck-vector"} and all(t.passed for t in checks.values())
    wrong = grade_source("sigmoid-backward", """
        import torch

        def sigmoid_backward(x, grad_output):
            s = torch.sigmoid(x)
            return grad_output * (1 - s * s)
        """)
    failed = {t.name: t for t in wrong.tests if not t.passed}
    assert failed["gradcheck-small"].mistake == "tanh-derivative"
    assert "Greatest absolute difference" in failed["gradcheck-small"].output
