"""The five card problems: correct formulations in several styles pass; the mistakes the issue
lists lose marks with feedback that names them."""
import pytest

CORRECT = {
    "sigmoid-backward": [
        """
        import torch
        def sigmoid_backward(x, grad_output):
            s = torch.sigmoid(x)
            return grad_output * s * (1 - s)
        """,
        """
        import torch
        def sigmoid_backward(x, grad_output):
            # manual forward, in-place ops on a fresh tensor
            s = 1.0 / (1.0 + torch.exp(-x))
            out = s.clone()
            out.mul_(1 - s).mul_(grad_output)
            return out
        """,
        """
        import torch
        def sigmoid_backward(x, grad_output):
            # d sigma/dx = e^-|x| / (1 + e^-|x|)^2, stable for both tails
            e = torch.exp(-x.abs())
            return grad_output * e / (1 + e) ** 2
        """,
    ],
    "adam-step": [
        """
        import torch
        def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            m = beta1 * m + (1 - beta1) * grad
            v = beta2 * v + (1 - beta2) * grad * grad
            m_hat = m / (1 - beta1 ** t)
            v_hat = v / (1 - beta2 ** t)
            return param - lr * m_hat / (v_hat.sqrt() + eps), m, v
        """,
        """
        import math
        import torch
        def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            # torch.optim.Adam's own arrangement, in place on copies
            m = m.clone().mul_(beta1).add_(grad, alpha=1 - beta1)
            v = v.clone().mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
            bc1, bc2 = 1 - beta1 ** t, 1 - beta2 ** t
            denom = (v.sqrt() / math.sqrt(bc2)).add_(eps)
            return param.clone().addcdiv_(m, denom, value=-lr / bc1), m, v
        """,
    ],
    "coin-entropy": [
        """
        import torch
        def coin_entropy(p):
            return -(torch.special.xlogy(p, p) + torch.special.xlogy(1 - p, 1 - p)) / torch.log(torch.tensor(2.0, dtype=p.dtype))
        """,
        """
        import math
        import torch
        def coin_entropy(p):
            q = 1 - p
            h = -(p * torch.log(p) + q * torch.log(q)) / math.log(2)
            return torch.nan_to_num(h, nan=0.0)
        """,
        """
        import torch
        def coin_entropy(p):
            out = torch.zeros_like(p)
            inside = (p > 0) & (p < 1)
            q = p[inside]
            out[inside] = -(q * torch.log2(q) + (1 - q) * torch.log2(1 - q))
            return out
        """,
    ],
    "conv-output-size": [
        """
        def conv_output_size(n, f, p=0, s=1):
            return (n - f + 2 * p) // s + 1
        """,
        """
        import math
        def conv_output_size(n, f, p=0, s=1):
            return math.floor((n - f + 2 * p) / s) + 1
        """,
        """
        def conv_output_size(n, f, p=0, s=1):
            # count the window positions one by one
            return len(range(0, n + 2 * p - f + 1, s))
        """,
    ],
    "attention": [
        """
        import math
        import torch
        def attention(q, k, v, mask=None):
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))
            return torch.softmax(scores, dim=-1) @ v
        """,
        """
        import torch
        def attention(q, k, v, mask=None):
            # manual softmax with max subtraction, einsum, a large negative number for the mask
            scores = torch.einsum("...qd,...kd->...qk", q, k) / q.shape[-1] ** 0.5
            if mask is not None:
                scores = torch.where(mask, scores, torch.tensor(-1e9, dtype=scores.dtype))
            scores = scores - scores.max(dim=-1, keepdim=True).values
            w = torch.exp(scores)
            w = w / w.sum(-1, keepdim=True)
            return torch.einsum("...qk,...kd->...qd", w, v)
        """,
        """
        import math
        import torch
        def attention(q, k, v, mask=None):
            # computes in float64 and casts back
            qd, kd, vd = q.double(), k.double(), v.double()
            scores = qd @ kd.transpose(-1, -2) / math.sqrt(q.size(-1))
            if mask is not None:
                scores = scores.masked_fill(mask.logical_not(), -math.inf)
            return (scores.softmax(-1) @ vd).to(q.dtype)
        """,
    ],
}

WRONG = [
    ("sigmoid-backward", "missing-upstream-gradient", """
        import torch
        def sigmoid_backward(x, grad_output):
            s = torch.sigmoid(x)
            return s * (1 - s)
        """),
    ("sigmoid-backward", "float64-output", """
        import torch
        def sigmoid_backward(x, grad_output):
            s = torch.sigmoid(x.to(torch.float64))
            return grad_output.to(torch.float64) * s * (1 - s)
        """),
    ("adam-step", "no-bias-correction", """
        def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            m = beta1 * m + (1 - beta1) * grad
            v = beta2 * v + (1 - beta2) * grad ** 2
            return param - lr * m / (v ** 0.5 + eps), m, v
        """),
    ("adam-step", "eps-inside-sqrt", """
        import torch
        def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            m = beta1 * m + (1 - beta1) * grad
            v = beta2 * v + (1 - beta2) * grad ** 2
            m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
            return param - lr * m_hat / torch.sqrt(v_hat + eps), m, v
        """),
    ("adam-step", "t-off-by-one", """
        def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            t = t + 1
            m = beta1 * m + (1 - beta1) * grad
            v = beta2 * v + (1 - beta2) * grad ** 2
            m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
            return param - lr * m_hat / (v_hat.sqrt() + eps), m, v
        """),
    ("coin-entropy", "nats-not-bits", """
        import torch
        def coin_entropy(p):
            return -(torch.special.xlogy(p, p) + torch.special.xlogy(1 - p, 1 - p))
        """),
    ("coin-entropy", "nan-at-edges", """
        import torch
        def coin_entropy(p):
            return -(p * torch.log2(p) + (1 - p) * torch.log2(1 - p))
        """),
    ("conv-output-size", "ceil-instead-of-floor", """
        import math
        def conv_output_size(n, f, p=0, s=1):
            return math.ceil((n - f + 2 * p) / s) + 1
        """),
    ("conv-output-size", "float-result", """
        def conv_output_size(n, f, p=0, s=1):
            return (n - f + 2 * p) / s + 1
        """),
    ("attention", "no-scale", """
        import torch
        def attention(q, k, v, mask=None):
            scores = q @ k.transpose(-2, -1)
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))
            return torch.softmax(scores, dim=-1) @ v
        """),
    ("attention", "mask-after-softmax", """
        import math, torch
        def attention(q, k, v, mask=None):
            w = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)
            if mask is not None:
                w = w.masked_fill(~mask, 0.0)
            return w @ v
        """),
    ("attention", "softmax-wrong-axis", """
        import math, torch
        def attention(q, k, v, mask=None):
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
            if mask is not None:
                scores = scores.masked_fill(~mask, float("-inf"))
            return torch.nan_to_num(torch.softmax(scores, dim=-2)) @ v
        """),
    ("attention", "mask-reversed", """
        import math, torch
        def attention(q, k, v, mask=None):
            scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
            if mask is not None:
                scores = scores.masked_fill(mask, float("-inf"))
            return torch.softmax(scores, dim=-1) @ v
        """),
]


@pytest.mark.parametrize("problem,source", [(p, s) for p, sources in CORRECT.items() for s in sources])
def test_correct_formulation_gets_full_marks(grade_source, problem, source):
    """Every case right. The speed tests are left out: they time the code against whatever else the
    machine runs (tests/test_performance.py tests them, with margins)."""
    result = grade_source(problem, source)
    assert result.error is None, result.error
    failed = [(t.name, t.output) for t in result.tests if not t.passed and not t.name.endswith(" (speed)")]
    assert not failed, failed
    assert result.tests


@pytest.mark.parametrize("problem,mistake,source", WRONG, ids=[f"{p}:{m}" for p, m, _ in WRONG])
def test_listed_mistake_loses_marks_and_is_named(grade_source, problem, mistake, source):
    result = grade_source(problem, source)
    assert result.score < result.max_score
    named = {t.mistake for t in result.tests if not t.passed}
    assert mistake in named, [(t.name, t.output) for t in result.tests if not t.passed]
    assert any(mistake in t.output for t in result.tests if t.mistake == mistake)


def test_autograd_is_forbidden_with_the_line_named(grade_source):
    result = grade_source("sigmoid-backward", """
        import torch
        def sigmoid_backward(x, grad_output):
            x = x.detach().clone().requires_grad_(True)
            y = torch.sigmoid(x)
            y.backward(grad_output)
            return x.grad
        """)
    assert result.score == 0
    assert "forbidden" in result.error and "line 6" in result.error
    assert all(not t.passed for t in result.tests)


def test_autograd_through_an_alias_is_caught(grade_source):
    result = grade_source("sigmoid-backward", """
        import torch
        from torch import autograd as ag
        def sigmoid_backward(x, grad_output):
            x = x.detach().requires_grad_()
            return ag.grad(torch.sigmoid(x), x, grad_output)[0]
        """)
    assert result.score == 0 and "torch.autograd" in result.error
