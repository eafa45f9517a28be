"""Bank problems on activations (tanh, ReLU, Leaky ReLU, ELU backward; stable softmax), losses
(softmax + cross-entropy gradient, MSE, BCE with logits, cross entropy, KL, hinge), entropy and
precision/recall/F1, graded through the real engine: correct alternative formulations get full
marks; each known mistake, written as a student would write it, loses marks and is named in the
feedback on a hidden case."""
from __future__ import annotations

import warnings

import pytest

from bank_suite import make_bank_tests

# problem id -> sources of correct submissions (different but equivalent formulations)
CORRECT: dict[str, list[str]] = {}
# problem id -> (mistake name, source of a submission making that mistake)
WRONG: dict[str, list[tuple[str, str]]] = {}
# problem id -> source using a forbidden API (scores 0 before it runs)
FORBIDDEN: dict[str, str] = {}


# ================================================================ activations

CORRECT["tanh-backward"] = [
    """
    import torch

    def tanh_backward(x, grad_output):
        return grad_output * (1 - torch.tanh(x) ** 2)
    """,
    """
    import torch

    def tanh_backward(x, grad_output):
        # d/dx tanh(x) = sech^2(x) = 1 / cosh^2(x); cosh overflows to inf far out, giving 0
        return grad_output / torch.cosh(x) ** 2
    """,
    """
    import torch

    def tanh_backward(x, grad_output):
        # tanh(x) = 2 sigmoid(2x) - 1, then in-place updates
        t = 2 * torch.sigmoid(2 * x) - 1
        t.mul_(t).neg_().add_(1).mul_(grad_output)
        return t
    """,
    """
    import math
    import torch

    def tanh_backward(x, grad_output):
        out = torch.empty_like(x)
        flat_out, flat_x, flat_g = out.view(-1), x.reshape(-1), grad_output.reshape(-1)
        for i in range(flat_x.numel()):
            h = math.tanh(flat_x[i].item())
            flat_out[i] = flat_g[i].item() * (1 - h * h)
        return out
    """,
]
WRONG["tanh-backward"] = [
    ("missing-upstream-gradient", """
    import torch

    def tanh_backward(x, grad_output):
        return 1 - torch.tanh(x) ** 2
    """),
    ("x-instead-of-tanh", """
    def tanh_backward(x, grad_output):
        return grad_output * (1 - x ** 2)
    """),
    ("sigmoid-derivative-form", """
    import torch

    def tanh_backward(x, grad_output):
        t = torch.tanh(x)
        return grad_output * t * (1 - t)
    """),
    ("missing-square", """
    import torch

    def tanh_backward(x, grad_output):
        return grad_output * (1 - torch.tanh(x))
    """),
]
FORBIDDEN["tanh-backward"] = """
import torch

def tanh_backward(x, grad_output):
    x = x.detach().requires_grad_(True)
    torch.tanh(x).backward(grad_output)
    return x.grad
"""

CORRECT["relu-backward"] = [
    """
    def relu_backward(x, grad_output):
        return grad_output * (x > 0)
    """,
    """
    import torch

    def relu_backward(x, grad_output):
        return torch.where(x > 0, grad_output, torch.zeros_like(grad_output))
    """,
    """
    def relu_backward(x, grad_output):
        dx = grad_output.clone()
        dx[x <= 0] = 0
        return dx
    """,
    """
    import torch

    def relu_backward(x, grad_output):
        # heaviside(x, 0) is the step function with value 0 at x = 0
        return grad_output * torch.heaviside(x, torch.zeros_like(x))
    """,
    """
    def relu_backward(x, grad_output):
        return grad_output.masked_fill(x <= 0, 0.0)
    """,
]
WRONG["relu-backward"] = [
    ("gradient-at-zero", """
    def relu_backward(x, grad_output):
        dx = grad_output.clone()
        dx[x < 0] = 0          # notes 000: derivative 1 if x >= 0
        return dx
    """),
    ("missing-upstream-gradient", """
    def relu_backward(x, grad_output):
        return (x > 0).type_as(x)
    """),
    ("relu-of-gradient", """
    import torch

    def relu_backward(x, grad_output):
        return torch.relu(grad_output)
    """),
    ("forward-value", """
    import torch

    def relu_backward(x, grad_output):
        return grad_output * torch.relu(x)
    """),
]
FORBIDDEN["relu-backward"] = """
import torch
from torch.autograd import grad

def relu_backward(x, grad_output):
    x = x.detach().requires_grad_(True)
    return grad(torch.relu(x), x, grad_output)[0]
"""

CORRECT["leaky-relu-backward"] = [
    """
    import torch

    def leaky_relu_backward(x, grad_output, negative_slope=0.01):
        return torch.where(x > 0, grad_output, negative_slope * grad_output)
    """,
    """
    def leaky_relu_backward(x, grad_output, negative_slope=0.01):
        # slope = negative_slope + (1 - negative_slope) * [x > 0]
        positive = (x > 0).to(x.dtype)
        return grad_output * (negative_slope + (1 - negative_slope) * positive)
    """,
    """
    def leaky_relu_backward(x, grad_output, negative_slope=0.01):
        dx = grad_output.clone()
        dx[x <= 0] *= negative_slope
        return dx
    """,
    """
    import torch

    def leaky_relu_backward(x, grad_output, negative_slope=0.01):
        out = torch.empty_like(grad_output)
        xs, gs = x.reshape(-1).tolist(), grad_output.reshape(-1).tolist()
        flat = out.view(-1)
        for i, (xi, gi) in enumerate(zip(xs, gs)):
            flat[i] = gi if xi > 0 else negative_slope * gi
        return out
    """,
]
WRONG["leaky-relu-backward"] = [
    ("slope-ignored", """
    import torch

    def leaky_relu_backward(x, grad_output, negative_slope=0.01):
        return torch.where(x > 0, grad_output, grad_output * 0.01)
    """),
    ("relu-derivative", """
    def leaky_relu_backward(x, grad_output, negative_slope=0.01):
        return grad_output.masked_fill(x <= 0, 0)
    """),
    ("slope-on-wrong-side", """
    import torch

    def leaky_relu_backward(x, grad_output, negative_slope=0.01):
        return torch.where(x < 0, grad_output, negative_slope * grad_output)
    """),
    ("missing-upstream-gradient", """
    import torch

    def leaky_relu_backward(x, grad_output, negative_slope=0.01):
        return torch.where(x > 0, torch.ones_like(x), torch.full_like(x, negative_slope))
    """),
    ("slope-one-at-zero", """
    def leaky_relu_backward(x, grad_output, negative_slope=0.01):
        dx = grad_output.clone()
        dx[x < 0] *= negative_slope
        return dx
    """),
]

CORRECT["elu-backward"] = [
    """
    import torch

    def elu_backward(x, grad_output, alpha=1.0):
        # where() picks one branch, so exp overflowing in the other is harmless
        return torch.where(x > 0, grad_output, grad_output * alpha * torch.exp(x))
    """,
    """
    import torch
    import torch.nn.functional as F

    def elu_backward(x, grad_output, alpha=1.0):
        # for x <= 0: alpha e^x = elu(x) + alpha, written with the forward output
        y = F.elu(x, alpha)
        return torch.where(x > 0, grad_output, grad_output * (y + alpha))
    """,
    """
    import torch

    def elu_backward(x, grad_output, alpha=1.0):
        dx = grad_output.clone()
        neg = x <= 0
        dx[neg] = dx[neg] * alpha * torch.exp(x[neg])
        return dx
    """,
    """
    import torch

    def elu_backward(x, grad_output, alpha=1.0):
        local = torch.where(x > 0, 1.0, alpha * torch.exp(torch.clamp(x, max=0)))
        return grad_output * local
    """,
]
WRONG["elu-backward"] = [
    ("missing-upstream-gradient", """
    import torch

    def elu_backward(x, grad_output, alpha=1.0):
        return torch.where(x > 0, torch.ones_like(x), alpha * torch.exp(x))
    """),
    ("alpha-missing", """
    import torch

    def elu_backward(x, grad_output, alpha=1.0):
        return torch.where(x > 0, grad_output, grad_output * torch.exp(x))
    """),
    ("forward-value", """
    import torch

    def elu_backward(x, grad_output, alpha=1.0):
        return torch.where(x > 0, grad_output, grad_output * alpha * (torch.exp(x) - 1))
    """),
    ("nan-from-mask-blend", """
    import torch

    def elu_backward(x, grad_output, alpha=1.0):
        pos = (x > 0).to(x.dtype)
        return grad_output * pos + grad_output * (1 - pos) * alpha * torch.exp(x)
    """),
]

CORRECT["stable-softmax"] = [
    """
    import torch

    def softmax(x, dim=-1):
        m = x.amax(dim=dim, keepdim=True)
        e = torch.exp(x - m)
        return e / e.sum(dim=dim, keepdim=True)
    """,
    """
    import torch

    def softmax(x, dim=-1):
        return torch.exp(x - torch.logsumexp(x, dim=dim, keepdim=True))
    """,
    """
    def softmax(x, dim=-1):
        y = x - x.max(dim=dim, keepdim=True).values
        y.exp_()
        y /= y.sum(dim=dim, keepdim=True)
        return y
    """,
    """
    import itertools
    import torch

    def softmax(x, dim=-1):
        moved = x.movedim(dim, -1)
        out = torch.empty_like(moved)
        for index in itertools.product(*[range(n) for n in moved.shape[:-1]]):
            row = moved[index]
            e = torch.exp(row - row.max())
            out[index] = e / e.sum()
        return out.movedim(-1, dim)
    """,
]
WRONG["stable-softmax"] = [
    ("naive-exp-overflow", """
    import torch

    def softmax(x, dim=-1):
        e = torch.exp(x)
        return e / e.sum(dim=dim, keepdim=True)
    """),
    ("dim-ignored", """
    def softmax(x, dim=-1):
        z = x - x.max(dim=-1, keepdim=True).values
        e = z.exp()
        return e / e.sum(-1, keepdim=True)
    """),
    ("normalised-over-everything", """
    import torch

    def softmax(x, dim=-1):
        e = torch.exp(x - x.max())
        return e / torch.sum(e)
    """),
    ("missing-keepdim", """
    import torch

    def softmax(x, dim=-1):
        m = x.max(dim=dim).values
        e = torch.exp(x - m)
        return e / e.sum(dim=dim)
    """),
]
FORBIDDEN["stable-softmax"] = """
import torch.nn.functional as F

def softmax(x, dim=-1):
    return F.softmax(x, dim=dim)
"""

# ================================================================ losses

CORRECT["softmax-cross-entropy-grad"] = [
    """
    import torch
    import torch.nn.functional as F

    def softmax_cross_entropy_grad(logits, targets):
        N, C = logits.shape
        y = torch.softmax(logits, dim=1)
        t = F.one_hot(targets, C).to(logits.dtype)
        return (y - t) / N
    """,
    """
    import torch

    def softmax_cross_entropy_grad(logits, targets):
        N = logits.shape[0]
        e = torch.exp(logits - logits.max(dim=1, keepdim=True).values)
        grad = e / e.sum(dim=1, keepdim=True)
        grad[torch.arange(N), targets] -= 1
        grad /= N
        return grad
    """,
    """
    import torch

    def softmax_cross_entropy_grad(logits, targets):
        N, C = logits.shape
        onehot = torch.eye(C, dtype=logits.dtype)[targets]
        return (torch.exp(torch.log_softmax(logits, dim=1)) - onehot) / N
    """,
    """
    import torch

    def softmax_cross_entropy_grad(logits, targets):
        N = logits.shape[0]
        grad = torch.empty_like(logits)
        for i in range(N):
            row = logits[i]
            e = torch.exp(row - row.max())
            grad[i] = e / e.sum()
            grad[i, targets[i]] -= 1
        return grad / N
    """,
]
WRONG["softmax-cross-entropy-grad"] = [
    ("missing-mean", """
    import torch

    def softmax_cross_entropy_grad(logits, targets):
        probs = torch.softmax(logits, dim=1)
        probs[range(len(targets)), targets] -= 1   # notes: dL/dx = y - t
        return probs
    """),
    ("sign-flipped", """
    import torch
    import torch.nn.functional as F

    def softmax_cross_entropy_grad(logits, targets):
        t = F.one_hot(targets, logits.shape[1]).to(logits.dtype)
        return (t - torch.softmax(logits, 1)) / logits.shape[0]
    """),
    ("one-hot-not-subtracted", """
    import torch

    def softmax_cross_entropy_grad(logits, targets):
        return torch.softmax(logits, dim=1) / logits.shape[0]
    """),
    ("divided-by-classes", """
    import torch
    import torch.nn.functional as F

    def softmax_cross_entropy_grad(logits, targets):
        N, C = logits.shape
        return (torch.softmax(logits, dim=1) - F.one_hot(targets, C)) / C
    """),
    ("naive-softmax", """
    import torch

    def softmax_cross_entropy_grad(logits, targets):
        N = logits.shape[0]
        e = logits.exp()
        y = e / e.sum(1, keepdim=True)
        y[torch.arange(N), targets] -= 1
        return y / N
    """),
]
FORBIDDEN["softmax-cross-entropy-grad"] = """
import torch
import torch.nn.functional as F

def softmax_cross_entropy_grad(logits, targets):
    logits = logits.detach().requires_grad_(True)
    loss = F.cross_entropy(logits, targets)
    return torch.autograd.grad(loss, logits)[0]
"""

CORRECT["mse-loss"] = [
    """
    def mse_loss(pred, target):
        return ((pred - target) ** 2).mean()
    """,
    """
    import torch

    def mse_loss(pred, target):
        return torch.sum(torch.square(pred - target)) / pred.numel()
    """,
    """
    import torch

    def mse_loss(pred, target):
        d = (pred - target).reshape(-1)
        return torch.dot(d, d) / d.numel()
    """,
    """
    import torch

    def mse_loss(pred, target):
        total = 0.0
        for p, t in zip(pred.reshape(-1).tolist(), target.reshape(-1).tolist()):
            total += (p - t) ** 2
        return torch.tensor(total / pred.numel(), dtype=pred.dtype)
    """,
]
WRONG["mse-loss"] = [
    ("sum-not-mean", """
    def mse_loss(pred, target):
        return ((pred - target) ** 2).sum()
    """),
    ("absolute-error", """
    import torch

    def mse_loss(pred, target):
        return torch.abs(pred - target).mean()
    """),
    ("square-of-mean", """
    import torch

    def mse_loss(pred, target):
        return torch.mean(pred - target) ** 2
    """),
    ("half-factor", """
    import torch

    def mse_loss(pred, target):
        return 0.5 * torch.mean((pred - target) ** 2)
    """),
    ("mean-over-rows-only", """
    def mse_loss(pred, target):
        return ((pred - target) ** 2).sum() / len(pred)
    """),
]
FORBIDDEN["mse-loss"] = """
from torch.nn.functional import mse_loss as builtin

def mse_loss(pred, target):
    return builtin(pred, target)
"""

CORRECT["bce-with-logits"] = [
    """
    import torch

    def bce_with_logits(logits, targets):
        z, t = logits, targets
        return (torch.clamp(z, min=0) - z * t + torch.log1p(torch.exp(-z.abs()))).mean()
    """,
    """
    import torch.nn.functional as F

    def bce_with_logits(logits, targets):
        # log sigmoid(z) and log(1 - sigmoid(z)) = log sigmoid(-z), both stable
        return -(targets * F.logsigmoid(logits) + (1 - targets) * F.logsigmoid(-logits)).mean()
    """,
    """
    import torch.nn.functional as F

    def bce_with_logits(logits, targets):
        # -t log s - (1 - t) log(1 - s) = softplus(z) - t z
        return (F.softplus(logits) - targets * logits).mean()
    """,
    """
    import math
    import torch

    def bce_with_logits(logits, targets):
        total = 0.0
        zs, ts = logits.reshape(-1).tolist(), targets.reshape(-1).tolist()
        for z, t in zip(zs, ts):
            total += max(z, 0.0) - z * t + math.log1p(math.exp(-abs(z)))
        return torch.tensor(total / len(zs), dtype=logits.dtype)
    """,
]
WRONG["bce-with-logits"] = [
    ("naive-log-sigmoid", """
    import torch

    def bce_with_logits(logits, targets):
        p = torch.sigmoid(logits)
        return -(targets * torch.log(p) + (1 - targets) * torch.log(1 - p)).mean()
    """),
    ("exp-overflow-negative-logits", """
    import torch

    def bce_with_logits(logits, targets):
        return ((1 - targets) * logits + torch.log(1 + torch.exp(-logits))).mean()
    """),
    ("sum-not-mean", """
    import torch.nn.functional as F

    def bce_with_logits(logits, targets):
        loss = F.softplus(logits) - logits * targets
        return loss.sum()
    """),
    ("missing-minus", """
    import torch.nn.functional as F

    def bce_with_logits(logits, targets):
        return (targets * F.logsigmoid(logits) + (1 - targets) * F.logsigmoid(-logits)).mean()
    """),
]
FORBIDDEN["bce-with-logits"] = """
import torch

def bce_with_logits(logits, targets):
    return torch.nn.functional.binary_cross_entropy_with_logits(logits, targets)
"""

CORRECT["cross-entropy-loss"] = [
    """
    import torch

    def cross_entropy_loss(logits, targets):
        N = logits.shape[0]
        return (torch.logsumexp(logits, dim=1) - logits[torch.arange(N), targets]).mean()
    """,
    """
    import torch

    def cross_entropy_loss(logits, targets):
        log_probs = torch.log_softmax(logits, dim=1)
        return -log_probs.gather(1, targets.unsqueeze(1)).mean()
    """,
    """
    import torch
    import torch.nn.functional as F

    def cross_entropy_loss(logits, targets):
        N, C = logits.shape
        shifted = logits - logits.max(dim=1, keepdim=True).values
        log_probs = shifted - torch.log(torch.exp(shifted).sum(dim=1, keepdim=True))
        return -(F.one_hot(targets, C) * log_probs).sum() / N
    """,
    """
    import math
    import torch

    def cross_entropy_loss(logits, targets):
        total = 0.0
        for row, t in zip(logits.tolist(), targets.tolist()):
            m = max(row)
            lse = m + math.log(sum(math.exp(v - m) for v in row))
            total += lse - row[t]
        return torch.tensor(total / len(targets), dtype=logits.dtype)
    """,
]
WRONG["cross-entropy-loss"] = [
    ("naive-softmax", """
    import torch

    def cross_entropy_loss(logits, targets):
        probs = torch.exp(logits) / torch.exp(logits).sum(dim=1, keepdim=True)
        return -torch.log(probs[torch.arange(len(targets)), targets]).mean()
    """),
    ("sum-not-mean", """
    import torch

    def cross_entropy_loss(logits, targets):
        return -torch.log_softmax(logits, 1)[torch.arange(len(targets)), targets].sum()
    """),
    ("mean-over-classes-too", """
    import torch
    import torch.nn.functional as F

    def cross_entropy_loss(logits, targets):
        onehot = F.one_hot(targets, logits.shape[1])
        return -(onehot * torch.log_softmax(logits, dim=1)).mean()
    """),
    ("softmax-over-batch", """
    import torch

    def cross_entropy_loss(logits, targets):
        log_probs = torch.log_softmax(logits, dim=0)
        return -log_probs[torch.arange(len(targets)), targets].mean()
    """),
]
FORBIDDEN["cross-entropy-loss"] = """
import torch.nn as nn

def cross_entropy_loss(logits, targets):
    return nn.CrossEntropyLoss()(logits, targets)
"""

CORRECT["kl-divergence"] = [
    """
    import torch

    def kl_divergence(p, q):
        return (torch.special.xlogy(p, p) - torch.special.xlogy(p, q)).sum(dim=-1)
    """,
    """
    import torch

    def kl_divergence(p, q):
        terms = torch.where(p > 0, p * torch.log(p / q), torch.zeros_like(p))
        return terms.sum(-1)
    """,
    """
    import torch.nn.functional as F

    def kl_divergence(p, q):
        # F.kl_div(input=log q, target=p) computes p (log p - log q) elementwise
        return F.kl_div(q.log(), p, reduction="none").sum(dim=-1)
    """,
    """
    import torch

    def kl_divergence(p, q):
        # KL = cross entropy H(p, q) - entropy H(p)
        cross_entropy = -(p * torch.log(q)).sum(-1)
        entropy = torch.special.entr(p).sum(-1)
        return cross_entropy - entropy
    """,
    # Not here: torch.distributions.kl_divergence(Categorical(probs=p), Categorical(probs=q)).
    # Categorical clamps probabilities to float32's eps (1.2e-7), so it is 13% off on the hidden
    # case 'tiny-q' (q = 1e-8); it passes every other case.
]
WRONG["kl-divergence"] = [
    ("reversed-arguments", """
    import torch

    def kl_divergence(p, q):
        return (q * torch.log(q / p)).sum(-1)
    """),
    ("nan-at-zero", """
    import torch

    def kl_divergence(p, q):
        return (p * torch.log(p / q)).sum(dim=-1)
    """),
    ("bits-not-nats", """
    import torch

    def kl_divergence(p, q):
        return torch.where(p > 0, p * torch.log2(p / q), 0.0).sum(-1)
    """),
    ("cross-entropy-only", """
    import torch

    def kl_divergence(p, q):
        return -(p * torch.log(q)).sum(-1)
    """),
]

CORRECT["hinge-loss"] = [
    """
    import torch

    def hinge_loss(scores, targets):
        N = scores.shape[0]
        correct = scores[torch.arange(N), targets].unsqueeze(1)
        margins = torch.clamp(scores - correct + 1, min=0)
        margins[torch.arange(N), targets] = 0
        return margins.sum() / N
    """,
    """
    import torch

    def hinge_loss(scores, targets):
        # CS231n svm_loss_naive
        N, C = scores.shape
        loss = 0.0
        for i in range(N):
            s = scores[i].tolist()
            y = int(targets[i])
            for j in range(C):
                if j == y:
                    continue
                margin = s[j] - s[y] + 1
                if margin > 0:
                    loss += margin
        return torch.tensor(loss / N, dtype=scores.dtype)
    """,
    """
    import torch
    import torch.nn.functional as F

    def hinge_loss(scores, targets):
        N, C = scores.shape
        correct = scores.gather(1, targets.view(-1, 1))
        not_target = 1 - F.one_hot(targets, C)
        return ((scores - correct + 1).clamp(min=0) * not_target).sum() / N
    """,
    """
    import torch

    def hinge_loss(scores, targets):
        # summing every j counts max(0, 1) = 1 for j = y: subtract it once per example
        N = scores.shape[0]
        correct = scores[torch.arange(N), targets][:, None]
        return (torch.relu(scores - correct + 1).sum(dim=1) - 1).mean()
    """,
]
WRONG["hinge-loss"] = [
    ("correct-class-counted", """
    import torch

    def hinge_loss(scores, targets):
        correct = scores.gather(1, targets.view(-1, 1))
        return torch.clamp(scores - correct + 1, min=0).sum() / scores.shape[0]
    """),
    ("sum-not-mean", """
    import torch

    def hinge_loss(scores, targets):
        N, C = scores.shape
        loss = scores.new_zeros(())
        for i in range(N):
            for j in range(C):
                if j != targets[i]:
                    loss += torch.clamp(scores[i, j] - scores[i, targets[i]] + 1, min=0)
        return loss
    """),
    ("missing-margin", """
    import torch

    def hinge_loss(scores, targets):
        N = scores.shape[0]
        correct = scores[torch.arange(N), targets].unsqueeze(1)
        return torch.clamp(scores - correct, min=0).sum() / N
    """),
    ("missing-max", """
    import torch

    def hinge_loss(scores, targets):
        N = scores.shape[0]
        correct = scores[torch.arange(N), targets].unsqueeze(1)
        margins = scores - correct + 1
        margins[torch.arange(N), targets] = 0
        return margins.sum() / N
    """),
]
FORBIDDEN["hinge-loss"] = """
import torch.nn.functional as F

def hinge_loss(scores, targets):
    return F.multi_margin_loss(scores, targets) * scores.shape[1]
"""

# ================================================================ entropy

CORRECT["distribution-entropy"] = [
    """
    import torch

    def entropy(p):
        return -torch.special.xlogy(p, p).sum(dim=-1)
    """,
    """
    import torch

    def entropy(p):
        return torch.special.entr(p).sum(-1)
    """,
    """
    import torch

    def entropy(p):
        # p log p is 0 * -inf = nan at p = 0; the convention makes it 0
        return -torch.nan_to_num(p * torch.log(p), nan=0.0).sum(dim=-1)
    """,
    """
    import torch

    def entropy(p):
        logp = torch.log(torch.where(p > 0, p, torch.ones_like(p)))   # log 1 = 0 where p = 0
        return -(p * logp).sum(-1)
    """,
]
WRONG["distribution-entropy"] = [
    ("missing-minus-sign", """
    import torch

    def entropy(p):
        return torch.special.xlogy(p, p).sum(-1)      # notes 000: H = sum P log P
    """),
    ("bits-not-nats", """
    import torch

    def entropy(p):
        terms = torch.where(p > 0, -p * torch.log2(p), torch.zeros_like(p))
        return terms.sum(-1)
    """),
    ("nan-at-zero", """
    import torch

    def entropy(p):
        return -(p * torch.log(p)).sum(dim=-1)
    """),
    ("summed-over-everything", """
    import torch

    def entropy(p):
        return torch.special.entr(p).sum()
    """),
]

# ================================================================ metrics

CORRECT["precision-recall-f1"] = [
    """
    def precision_recall_f1(predictions, labels):
        tp = ((predictions == 1) & (labels == 1)).sum().item()
        fp = ((predictions == 1) & (labels == 0)).sum().item()
        fn = ((predictions == 0) & (labels == 1)).sum().item()
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return float(precision), float(recall), float(f1)
    """,
    """
    def precision_recall_f1(predictions, labels):
        # F1 = 2TP / (2TP + FP + FN), the same harmonic mean written with counts
        tp = int((predictions * labels).sum())
        predicted = int(predictions.sum())
        actual = int(labels.sum())
        precision = tp / predicted if predicted > 0 else 0.0
        recall = tp / actual if actual > 0 else 0.0
        denominator = predicted + actual
        f1 = 2 * tp / denominator if denominator > 0 else 0.0
        return float(precision), float(recall), float(f1)
    """,
    """
    def precision_recall_f1(predictions, labels):
        tp = fp = fn = 0
        for p, y in zip(predictions.reshape(-1).tolist(), labels.reshape(-1).tolist()):
            if p == 1 and y == 1:
                tp += 1
            elif p == 1:
                fp += 1
            elif y == 1:
                fn += 1
        try:
            precision = tp / (tp + fp)
        except ZeroDivisionError:
            precision = 0.0
        try:
            recall = tp / (tp + fn)
        except ZeroDivisionError:
            recall = 0.0
        try:
            f1 = 2 / (1 / precision + 1 / recall)
        except ZeroDivisionError:
            f1 = 0.0
        return precision, recall, f1
    """,
    """
    import torch

    def precision_recall_f1(predictions, labels):
        # confusion matrix counts: index 2 * label + prediction -> tn, fp, fn, tp
        tn, fp, fn, tp = torch.bincount(2 * labels.reshape(-1) + predictions.reshape(-1), minlength=4).tolist()
        precision = tp / (tp + fp) if tp + fp > 0 else 0.0
        recall = tp / (tp + fn) if tp + fn > 0 else 0.0
        f1 = 2 * precision * recall / (precision + recall) if tp > 0 else 0.0
        return float(precision), float(recall), float(f1)
    """,
]
WRONG["precision-recall-f1"] = [
    ("precision-recall-swapped", """
    def precision_recall_f1(predictions, labels):
        tp = int(((predictions == 1) & (labels == 1)).sum())
        fp = int(((predictions == 1) & (labels == 0)).sum())
        fn = int(((predictions == 0) & (labels == 1)).sum())
        precision = tp / (tp + fn) if tp + fn else 0.0
        recall = tp / (tp + fp) if tp + fp else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        return precision, recall, f1
    """),
    ("arithmetic-mean-f1", """
    def precision_recall_f1(predictions, labels):
        tp = int(((predictions == 1) & (labels == 1)).sum())
        fp = int(((predictions == 1) & (labels == 0)).sum())
        fn = int(((predictions == 0) & (labels == 1)).sum())
        precision = tp / (tp + fp) if tp + fp else 0.0
        recall = tp / (tp + fn) if tp + fn else 0.0
        return precision, recall, (precision + recall) / 2
    """),
    ("nan-on-zero-division", """
    def precision_recall_f1(predictions, labels):
        tp = ((predictions == 1) & (labels == 1)).sum().double()
        fp = ((predictions == 1) & (labels == 0)).sum().double()
        fn = ((predictions == 0) & (labels == 1)).sum().double()
        precision = tp / (tp + fp)
        recall = tp / (tp + fn)
        f1 = 2 * precision * recall / (precision + recall)
        return precision.item(), recall.item(), f1.item()
    """),
    ("tensors-not-floats", """
    import torch

    def precision_recall_f1(predictions, labels):
        tp = ((predictions == 1) & (labels == 1)).sum()
        fp = ((predictions == 1) & (labels == 0)).sum()
        fn = ((predictions == 0) & (labels == 1)).sum()
        precision = tp / (tp + fp) if tp + fp > 0 else torch.tensor(0.0)
        recall = tp / (tp + fn) if tp + fn > 0 else torch.tensor(0.0)
        f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else torch.tensor(0.0)
        return precision, recall, f1
    """),
    ("accuracy-as-precision", """
    def precision_recall_f1(predictions, labels):
        accuracy = (predictions == labels).float().mean().item()
        tp = int(((predictions == 1) & (labels == 1)).sum())
        fn = int(((predictions == 0) & (labels == 1)).sum())
        recall = tp / (tp + fn) if tp + fn else 0.0
        f1 = 2 * accuracy * recall / (accuracy + recall) if accuracy + recall else 0.0
        return accuracy, recall, f1
    """),
]

# ---------------------------------------------------------------- tests

PROBLEMS = list(CORRECT)


(test_correct_formulation_gets_full_marks, test_known_mistake_loses_marks_and_is_named,
 test_forbidden_api_scores_zero, test_every_mistake_of_these_problems_is_exercised) = \
    make_bank_tests(CORRECT, WRONG, FORBIDDEN, min_correct=3)


@pytest.mark.parametrize("problem_id", PROBLEMS)
def test_reference_passes_and_every_mistake_fails_a_hidden_case(problem_id):
    """What `grader validate` will check, done in this process: the reference in the input's own
    precision passes every case, and every listed mistake fails at least one hidden case."""
    from grader.problems.bank import Bank
    from grader.errors import SpecError
    from grader.kinds.function.kind import check_output, evaluate, prepare_cases

    bank = Bank()
    problem = bank.get(problem_id)
    prepared = prepare_cases(problem, bank, seed=0)
    assert len(prepared) >= 6
    assert any(p.visible for p in prepared) and any(not p.visible for p in prepared)
    reference = bank.load_callable(problem.spec["reference"])
    for case in prepared:
        native = evaluate(reference, case.args, "native", "reference")
        assert check_output(problem, case.case, native, case.expected) is None, case.name
    for mistake in problem.spec["mistakes"]:
        wrong = bank.load_callable(mistake["impl"])
        precision = mistake.get("precision", "float64")
        killed = []
        for case in prepared:
            if case.visible:
                continue
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    output = evaluate(wrong, case.args, precision, mistake["name"])
            except SpecError:
                continue  # a mistake that raises is not a kill we can name
            if check_output(problem, case.case, output, case.expected) is not None:
                killed.append(case.name)
        assert killed, f"{problem_id}: mistake {mistake['name']} passes every hidden case"
