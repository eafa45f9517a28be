"""Bank problems on regularization, normalization, optimizers and CNN layers, graded through the
real engine: correct alternative formulations get full marks; each known mistake, written as a
student would write it, loses marks and is named in the feedback."""
from __future__ import annotations

import pytest

from bank_suite import make_bank_tests

# problem id -> sources of correct submissions (different but equivalent formulations)
CORRECT: dict[str, list[str]] = {}
# problem id -> (mistake name, source of a submission making that mistake)
WRONG: dict[str, list[tuple[str, str]]] = {}
# problem id -> source using a forbidden API (scores 0 before it runs)
FORBIDDEN: dict[str, str] = {}

# ---------------------------------------------------------------- regularization

CORRECT["l2-penalty-grad"] = [
    """
    import torch

    def l2_penalty_grad(w, lam):
        return lam * torch.sum(w ** 2), 2 * lam * w
    """,
    """
    import torch

    def l2_penalty_grad(w, lam):
        flat = w.reshape(-1)
        penalty = lam * torch.dot(flat, flat)
        grad = w.clone()
        grad.mul_(2 * lam)
        return penalty, grad
    """,
]
WRONG["l2-penalty-grad"] = [
    ("half-convention", """
    def l2_penalty_grad(w, lam):
        return 0.5 * lam * (w ** 2).sum(), lam * w
    """),
    ("gradient-missing-two", """
    def l2_penalty_grad(w, lam):
        return lam * (w * w).sum(), lam * w
    """),
    ("norm-not-squared", """
    import torch

    def l2_penalty_grad(w, lam):
        n = torch.norm(w)
        return lam * n, lam * w / n
    """),
    ("mean-not-sum", """
    def l2_penalty_grad(w, lam):
        return lam * (w ** 2).mean(), 2 * lam * w / w.numel()
    """),
]

CORRECT["l1-penalty-grad"] = [
    """
    import torch

    def l1_penalty_grad(w, lam):
        return lam * w.abs().sum(), lam * torch.sign(w)
    """,
    """
    import torch

    def l1_penalty_grad(w, lam):
        grad = torch.zeros_like(w)
        grad[w > 0] = lam
        grad[w < 0] = -lam
        return lam * torch.linalg.vector_norm(w, ord=1), grad
    """,
]
WRONG["l1-penalty-grad"] = [
    ("sign-at-zero", """
    import torch

    def l1_penalty_grad(w, lam):
        grad = torch.where(w >= 0, lam, -lam).to(w.dtype)
        return lam * w.abs().sum(), grad
    """),
    ("l2-gradient", """
    def l1_penalty_grad(w, lam):
        return lam * w.abs().sum(), lam * w
    """),
    ("missing-abs", """
    import torch

    def l1_penalty_grad(w, lam):
        return lam * w.sum(), lam * torch.ones_like(w)
    """),
    ("half-factor", """
    import torch

    def l1_penalty_grad(w, lam):
        return lam / 2 * w.abs().sum(), lam / 2 * torch.sign(w)
    """),
]

# ---------------------------------------------------------------- normalization

CORRECT["batchnorm-forward"] = [
    """
    import torch

    def batchnorm_forward(x, gamma, beta, eps=1e-5):
        mu = x.mean(dim=0)
        var = x.var(dim=0, unbiased=False)
        return gamma * (x - mu) / torch.sqrt(var + eps) + beta
    """,
    """
    import torch

    def batchnorm_forward(x, gamma, beta, eps=1e-5):
        # CS231n step by step, keepdim and rsqrt
        N = x.shape[0]
        mu = x.sum(dim=0, keepdim=True) / N
        xc = x - mu
        var = (xc * xc).sum(dim=0, keepdim=True) / N
        inv_std = torch.rsqrt(var + eps)
        return xc * inv_std * gamma + beta
    """,
    """
    import torch

    def batchnorm_forward(x, gamma, beta, eps=1e-5):
        var, mu = torch.var_mean(x, dim=0, correction=0)
        out = (x - mu).div_(torch.sqrt(var + eps))
        out.mul_(gamma).add_(beta)
        return out
    """,
]
WRONG["batchnorm-forward"] = [
    ("unbiased-variance", """
    import torch

    def batchnorm_forward(x, gamma, beta, eps=1e-5):
        mu = x.mean(0)
        var = x.var(0)
        return gamma * (x - mu) / torch.sqrt(var + eps) + beta
    """),
    ("eps-outside-sqrt", """
    def batchnorm_forward(x, gamma, beta, eps=1e-5):
        mu = x.mean(0)
        std = x.std(0, unbiased=False)
        return gamma * (x - mu) / (std + eps) + beta
    """),
    ("normalised-over-features", """
    import torch

    def batchnorm_forward(x, gamma, beta, eps=1e-5):
        mu = x.mean(dim=1, keepdim=True)
        var = x.var(dim=1, keepdim=True, unbiased=False)
        return gamma * (x - mu) / torch.sqrt(var + eps) + beta
    """),
    ("missing-gamma-beta", """
    import torch

    def batchnorm_forward(x, gamma, beta, eps=1e-5):
        mu = x.mean(0)
        var = x.var(0, unbiased=False)
        return (x - mu) / torch.sqrt(var + eps)
    """),
]
FORBIDDEN["batchnorm-forward"] = """
import torch.nn.functional as F

def batchnorm_forward(x, gamma, beta, eps=1e-5):
    return F.batch_norm(x, None, None, gamma, beta, training=True, eps=eps)
"""

CORRECT["batchnorm-backward"] = [
    """
    import torch

    def batchnorm_backward(dout, x, gamma, eps=1e-5):
        N = x.shape[0]
        mu = x.mean(0)
        var = x.var(0, unbiased=False)
        sigma = torch.sqrt(var + eps)
        x_hat = (x - mu) / sigma
        dbeta = dout.sum(0)
        dgamma = (dout * x_hat).sum(0)
        dx = gamma / (N * sigma) * (N * dout - dbeta - x_hat * dgamma)
        return dx, dgamma, dbeta
    """,
    """
    import torch

    def batchnorm_backward(dout, x, gamma, eps=1e-5):
        # CS231n computational graph, one node at a time
        N, D = x.shape
        mu = x.sum(0) / N
        xmu = x - mu
        sq = xmu ** 2
        var = sq.sum(0) / N
        sqrtvar = torch.sqrt(var + eps)
        ivar = 1.0 / sqrtvar
        xhat = xmu * ivar
        dbeta = dout.sum(0)
        dgamma = (dout * xhat).sum(0)
        dxhat = dout * gamma
        divar = (dxhat * xmu).sum(0)
        dxmu1 = dxhat * ivar
        dsqrtvar = -1.0 / sqrtvar ** 2 * divar
        dvar = 0.5 / sqrtvar * dsqrtvar
        dsq = torch.ones((N, D), dtype=x.dtype) / N * dvar
        dxmu2 = 2 * xmu * dsq
        dx1 = dxmu1 + dxmu2
        dmu = -dx1.sum(0)
        dx2 = torch.ones((N, D), dtype=x.dtype) / N * dmu
        return dx1 + dx2, dgamma, dbeta
    """,
    """
    import torch

    def batchnorm_backward(dout, x, gamma, eps=1e-5):
        # dL/dx_hat, then the mean and variance terms
        N = x.shape[0]
        mu = x.mean(0, keepdim=True)
        var = ((x - mu) ** 2).mean(0, keepdim=True)
        inv = torch.rsqrt(var + eps)
        x_hat = (x - mu) * inv
        dx_hat = dout * gamma
        dvar = (dx_hat * (x - mu)).sum(0, keepdim=True) * -0.5 * inv ** 3
        dmu = -(dx_hat * inv).sum(0, keepdim=True) + dvar * (-2.0 * (x - mu)).mean(0, keepdim=True)
        dx = dx_hat * inv + dvar * 2.0 * (x - mu) / N + dmu / N
        return dx, (dout * x_hat).sum(0), dout.sum(0)
    """,
]
WRONG["batchnorm-backward"] = [
    ("direct-path-only", """
    import torch

    def batchnorm_backward(dout, x, gamma, eps=1e-5):
        mu = x.mean(0)
        sigma = torch.sqrt(x.var(0, unbiased=False) + eps)
        x_hat = (x - mu) / sigma
        return dout * gamma / sigma, (dout * x_hat).sum(0), dout.sum(0)
    """),
    ("missing-variance-path", """
    import torch

    def batchnorm_backward(dout, x, gamma, eps=1e-5):
        mu = x.mean(0)
        sigma = torch.sqrt(x.var(0, unbiased=False) + eps)
        x_hat = (x - mu) / sigma
        dx_hat = dout * gamma
        dx = (dx_hat - dx_hat.mean(0)) / sigma
        return dx, (dout * x_hat).sum(0), dout.sum(0)
    """),
    ("unbiased-variance", """
    import torch

    def batchnorm_backward(dout, x, gamma, eps=1e-5):
        N = x.shape[0]
        sigma = torch.sqrt(x.var(0) + eps)
        x_hat = (x - x.mean(0)) / sigma
        dbeta = dout.sum(0)
        dgamma = (dout * x_hat).sum(0)
        dx = gamma / (N * sigma) * (N * dout - dbeta - x_hat * dgamma)
        return dx, dgamma, dbeta
    """),
    ("dgamma-uses-x", """
    import torch

    def batchnorm_backward(dout, x, gamma, eps=1e-5):
        N = x.shape[0]
        sigma = torch.sqrt(x.var(0, unbiased=False) + eps)
        x_hat = (x - x.mean(0)) / sigma
        dbeta = dout.sum(0)
        dx = gamma / (N * sigma) * (N * dout - dbeta - x_hat * (dout * x_hat).sum(0))
        return dx, (dout * x).sum(0), dbeta
    """),
]
FORBIDDEN["batchnorm-backward"] = """
import torch

def batchnorm_backward(dout, x, gamma, eps=1e-5):
    x = x.clone().requires_grad_(True)
    g = gamma.clone().requires_grad_(True)
    b = torch.zeros_like(gamma, requires_grad=True)
    mu, var = x.mean(0), x.var(0, unbiased=False)
    out = g * (x - mu) / torch.sqrt(var + eps) + b
    out.backward(dout)
    return x.grad, g.grad, b.grad
"""

CORRECT["layernorm-forward"] = [
    """
    import torch

    def layernorm_forward(x, gamma, beta, eps=1e-5):
        mu = x.mean(dim=-1, keepdim=True)
        var = x.var(dim=-1, keepdim=True, unbiased=False)
        return gamma * (x - mu) / torch.sqrt(var + eps) + beta
    """,
    """
    import torch

    def layernorm_forward(x, gamma, beta, eps=1e-5):
        # transpose trick: reuse a batch-norm-style computation over dim 0
        D = x.shape[-1]
        rows = x.reshape(-1, D).T                     # (D, rows)
        mu = rows.mean(0)
        var = ((rows - mu) ** 2).mean(0)
        x_hat = ((rows - mu) / torch.sqrt(var + eps)).T.reshape(x.shape)
        return x_hat * gamma + beta
    """,
    """
    import torch

    def layernorm_forward(x, gamma, beta, eps=1e-5):
        var, mu = torch.var_mean(x, dim=-1, keepdim=True, correction=0)
        return torch.addcmul(beta, (x - mu) * torch.rsqrt(var + eps), gamma)
    """,
]
WRONG["layernorm-forward"] = [
    ("normalised-over-batch", """
    import torch

    def layernorm_forward(x, gamma, beta, eps=1e-5):
        mu = x.mean(0, keepdim=True)
        var = x.var(0, keepdim=True, unbiased=False)
        return gamma * (x - mu) / torch.sqrt(var + eps) + beta
    """),
    ("unbiased-variance", """
    import torch

    def layernorm_forward(x, gamma, beta, eps=1e-5):
        mu = x.mean(-1, keepdim=True)
        var = x.var(-1, keepdim=True)
        return gamma * (x - mu) / torch.sqrt(var + eps) + beta
    """),
    ("eps-outside-sqrt", """
    def layernorm_forward(x, gamma, beta, eps=1e-5):
        mu = x.mean(-1, keepdim=True)
        std = x.std(-1, keepdim=True, unbiased=False)
        return gamma * (x - mu) / (std + eps) + beta
    """),
    ("missing-gamma-beta", """
    import torch

    def layernorm_forward(x, gamma, beta, eps=1e-5):
        mu = x.mean(-1, keepdim=True)
        var = x.var(-1, keepdim=True, unbiased=False)
        return (x - mu) / torch.sqrt(var + eps)
    """),
]
FORBIDDEN["layernorm-forward"] = """
import torch

def layernorm_forward(x, gamma, beta, eps=1e-5):
    return torch.nn.functional.layer_norm(x, (x.shape[-1],), gamma, beta, eps)
"""

# ---------------------------------------------------------------- optimizers

CORRECT["sgd-momentum-step"] = [
    """
    def sgd_momentum_step(param, grad, velocity, lr=0.01, momentum=0.9):
        v = momentum * velocity + grad
        return param - lr * v, v
    """,
    """
    import torch

    def sgd_momentum_step(param, grad, velocity, lr=0.01, momentum=0.9):
        # in place, like torch.optim.SGD does on its buffers
        v = velocity.clone()
        v.mul_(momentum).add_(grad)
        p = param.clone()
        p.add_(v, alpha=-lr)
        return p, v
    """,
]
WRONG["sgd-momentum-step"] = [
    ("cs231n-form", """
    def sgd_momentum_step(param, grad, velocity, lr=0.01, momentum=0.9):
        v = momentum * velocity - lr * grad
        param = param + v
        return param, v
    """),
    ("param-before-velocity", """
    def sgd_momentum_step(param, grad, velocity, lr=0.01, momentum=0.9):
        param = param - lr * velocity
        velocity = momentum * velocity + grad
        return param, velocity
    """),
    ("dampened-average", """
    def sgd_momentum_step(param, grad, velocity, lr=0.01, momentum=0.9):
        v = momentum * velocity + (1 - momentum) * grad
        return param - lr * v, v
    """),
    ("gradient-ascent", """
    def sgd_momentum_step(param, grad, velocity, lr=0.01, momentum=0.9):
        v = momentum * velocity + grad
        return param + lr * v, v
    """),
]
FORBIDDEN["sgd-momentum-step"] = """
import torch

def sgd_momentum_step(param, grad, velocity, lr=0.01, momentum=0.9):
    p = param.clone().requires_grad_(True)
    opt = torch.optim.SGD([p], lr=lr, momentum=momentum)
    p.grad = grad.clone()
    opt.step()
    return p.detach(), opt.state[p]["momentum_buffer"]
"""

CORRECT["adagrad-step"] = [
    """
    import torch

    def adagrad_step(param, grad, cache, lr=0.01, eps=1e-7):
        cache = cache + grad ** 2
        return param - lr * grad / (torch.sqrt(cache) + eps), cache
    """,
    """
    def adagrad_step(param, grad, cache, lr=0.01, eps=1e-7):
        new_cache = cache.clone()
        new_cache.addcmul_(grad, grad)
        std = new_cache.sqrt().add_(eps)
        new_param = param.clone()
        new_param.addcdiv_(grad, std, value=-lr)
        return new_param, new_cache
    """,
]
WRONG["adagrad-step"] = [
    ("missing-sqrt", """
    def adagrad_step(param, grad, cache, lr=0.01, eps=1e-7):
        cache = cache + grad * grad
        return param - lr * grad / (cache + eps), cache
    """),
    ("decaying-cache", """
    import torch

    def adagrad_step(param, grad, cache, lr=0.01, eps=1e-7):
        dr = 0.99
        cache = dr * cache + (1 - dr) * grad * grad
        return param - lr * grad / (torch.sqrt(cache) + eps), cache
    """),
    ("eps-inside-sqrt", """
    import torch

    def adagrad_step(param, grad, cache, lr=0.01, eps=1e-7):
        cache = cache + grad ** 2
        return param - lr * grad / torch.sqrt(cache + eps), cache
    """),
    ("stale-cache", """
    import torch

    def adagrad_step(param, grad, cache, lr=0.01, eps=1e-7):
        param = param - lr * grad / (torch.sqrt(cache) + eps)
        cache = cache + grad ** 2
        return param, cache
    """),
]
FORBIDDEN["adagrad-step"] = """
from torch.optim import Adagrad

def adagrad_step(param, grad, cache, lr=0.01, eps=1e-7):
    raise NotImplementedError(Adagrad)
"""

CORRECT["rmsprop-step"] = [
    """
    import torch

    def rmsprop_step(param, grad, cache, lr=0.01, decay_rate=0.99, eps=1e-7):
        cache = decay_rate * cache + (1 - decay_rate) * grad ** 2
        return param - lr * grad / (torch.sqrt(cache) + eps), cache
    """,
    """
    import torch

    def rmsprop_step(param, grad, cache, lr=0.01, decay_rate=0.99, eps=1e-7):
        # torch.lerp: cache + (1 - rho) * (g^2 - cache)
        cache = torch.lerp(cache, grad * grad, 1 - decay_rate)
        return param - lr * grad / (cache.sqrt() + eps), cache
    """,
]
WRONG["rmsprop-step"] = [
    ("adagrad-cache", """
    import torch

    def rmsprop_step(param, grad, cache, lr=0.01, decay_rate=0.99, eps=1e-7):
        cache = cache + grad * grad
        return param - lr * grad / (torch.sqrt(cache) + eps), cache
    """),
    ("decay-swapped", """
    import torch

    def rmsprop_step(param, grad, cache, lr=0.01, decay_rate=0.99, eps=1e-7):
        cache = (1 - decay_rate) * cache + decay_rate * grad ** 2
        return param - lr * grad / (torch.sqrt(cache) + eps), cache
    """),
    ("eps-inside-sqrt", """
    import torch

    def rmsprop_step(param, grad, cache, lr=0.01, decay_rate=0.99, eps=1e-7):
        cache = decay_rate * cache + (1 - decay_rate) * grad ** 2
        return param - lr * grad / torch.sqrt(cache + eps), cache
    """),
    ("missing-sqrt", """
    def rmsprop_step(param, grad, cache, lr=0.01, decay_rate=0.99, eps=1e-7):
        cache = decay_rate * cache + (1 - decay_rate) * grad ** 2
        return param - lr * grad / (cache + eps), cache
    """),
]

CORRECT["lr-schedule"] = [
    """
    import math

    def lr_at(step, kind, lr0, gamma=0.5, step_size=10, k=0.01, warmup_steps=0, total_steps=100):
        if kind == "step":
            return lr0 * gamma ** (step // step_size)
        if kind == "exponential":
            return lr0 * math.exp(-k * step)
        if kind == "inverse":
            return lr0 / (1 + k * step)
        if step < warmup_steps:
            return lr0 * step / warmup_steps
        return lr0 * max(0.0, (total_steps - step) / (total_steps - warmup_steps))
    """,
    """
    import math
    import numpy as np

    def lr_at(step, kind, lr0, gamma=0.5, step_size=10, k=0.01, warmup_steps=0, total_steps=100):
        def linear():
            if warmup_steps and step < warmup_steps:
                return step / warmup_steps
            return min(1.0, max(0.0, 1 - (step - warmup_steps) / (total_steps - warmup_steps)))
        factors = {
            "step": lambda: math.pow(gamma, math.floor(step / step_size)),
            "exponential": lambda: np.exp(-k * step),
            "inverse": lambda: 1.0 / (1.0 + k * step),
            "linear": linear,
        }
        return float(lr0 * factors[kind]())
    """,
    """
    import torch

    def lr_at(step, kind, lr0, gamma=0.5, step_size=10, k=0.01, warmup_steps=0, total_steps=100):
        # float32 torch arithmetic, converted with .item()
        t = torch.tensor(float(step))
        if kind == "step":
            lr = lr0 * torch.tensor(gamma) ** torch.div(t, step_size, rounding_mode="floor")
        elif kind == "exponential":
            lr = lr0 * torch.exp(-k * t)
        elif kind == "inverse":
            lr = lr0 / (1 + k * t)
        elif step < warmup_steps:
            lr = lr0 * t / warmup_steps
        else:
            lr = lr0 * torch.clamp((total_steps - t) / (total_steps - warmup_steps), min=0)
        return lr.item()
    """,
]
WRONG["lr-schedule"] = [
    ("step-not-floored", """
    import math

    def lr_at(step, kind, lr0, gamma=0.5, step_size=10, k=0.01, warmup_steps=0, total_steps=100):
        if kind == "step":
            return lr0 * gamma ** (step / step_size)
        if kind == "exponential":
            return lr0 * math.exp(-k * step)
        if kind == "inverse":
            return lr0 / (1 + k * step)
        if step < warmup_steps:
            return lr0 * step / warmup_steps
        return lr0 * max(0, total_steps - step) / (total_steps - warmup_steps)
    """),
    ("warmup-off-by-one", """
    import math

    def lr_at(step, kind, lr0, gamma=0.5, step_size=10, k=0.01, warmup_steps=0, total_steps=100):
        if kind == "step":
            return lr0 * gamma ** (step // step_size)
        if kind == "exponential":
            return lr0 * math.exp(-k * step)
        if kind == "inverse":
            return lr0 / (1 + k * step)
        if step < warmup_steps:
            return lr0 * (step + 1) / warmup_steps
        return lr0 * max(0, total_steps - step) / (total_steps - warmup_steps)
    """),
    ("decay-ignores-warmup", """
    import math

    def lr_at(step, kind, lr0, gamma=0.5, step_size=10, k=0.01, warmup_steps=0, total_steps=100):
        if kind == "step":
            return lr0 * gamma ** (step // step_size)
        if kind == "exponential":
            return lr0 * math.exp(-k * step)
        if kind == "inverse":
            return lr0 / (1 + k * step)
        if step < warmup_steps:
            return lr0 * step / warmup_steps
        return lr0 * max(0.0, 1 - step / total_steps)
    """),
    ("returns-tensor", """
    import torch

    def lr_at(step, kind, lr0, gamma=0.5, step_size=10, k=0.01, warmup_steps=0, total_steps=100):
        t = torch.tensor(float(step))
        if kind == "step":
            return lr0 * torch.tensor(gamma) ** (step // step_size)
        if kind == "exponential":
            return lr0 * torch.exp(-k * t)
        if kind == "inverse":
            return lr0 / (1 + k * t)
        if step < warmup_steps:
            return lr0 * t / warmup_steps
        return lr0 * torch.clamp((total_steps - t) / (total_steps - warmup_steps), min=0)
    """),
]

# ---------------------------------------------------------------- cnn

CORRECT["conv-param-count"] = [
    """
    def conv_param_count(F, C, K):
        return K * (F ** 2 * C + 1)
    """,
    """
    def conv_param_count(F, C, K):
        weights = F * F * C * K
        biases = K
        return int(weights + biases)
    """,
]
WRONG["conv-param-count"] = [
    ("no-bias", """
    def conv_param_count(F, C, K):
        return F * F * C * K
    """),
    ("no-channels", """
    def conv_param_count(F, C, K):
        return K * (F * F + 1)
    """),
    ("bias-per-channel", """
    def conv_param_count(F, C, K):
        return (F * F + 1) * C * K
    """),
    ("float-result", """
    import math

    def conv_param_count(F, C, K):
        return K * (math.pow(F, 2) * C + 1)
    """),
]

CORRECT["conv2d-forward"] = [
    """
    import torch
    import torch.nn.functional as F

    def conv2d_forward(x, w, b, stride=1, pad=0):
        # im2col with F.unfold, then one matrix product
        N, C, H, W = x.shape
        K, _, f, _ = w.shape
        H_out = (H - f + 2 * pad) // stride + 1
        W_out = (W - f + 2 * pad) // stride + 1
        cols = F.unfold(x, kernel_size=f, padding=pad, stride=stride)     # (N, C*f*f, L)
        out = w.reshape(K, -1) @ cols + b.reshape(1, K, 1)                # (N, K, L)
        return out.reshape(N, K, H_out, W_out)
    """,
    """
    import torch
    import torch.nn.functional as F

    def conv2d_forward(x, w, b, stride=1, pad=0):
        # Tensor.unfold windows + einsum
        f = w.shape[-1]
        xp = F.pad(x, (pad, pad, pad, pad))
        win = xp.unfold(2, f, stride).unfold(3, f, stride)      # (N, C, H', W', f, f)
        return torch.einsum("nchwuv,kcuv->nkhw", win, w) + b[None, :, None, None]
    """,
    """
    import torch

    def conv2d_forward(x, w, b, stride=1, pad=0):
        # CS231n naive loops over samples, filters and output positions
        N, C, H, W = x.shape
        K, _, f, _ = w.shape
        xp = torch.zeros((N, C, H + 2 * pad, W + 2 * pad), dtype=x.dtype)
        xp[:, :, pad:pad + H, pad:pad + W] = x
        H_out = 1 + (H + 2 * pad - f) // stride
        W_out = 1 + (W + 2 * pad - f) // stride
        out = torch.zeros((N, K, H_out, W_out), dtype=x.dtype)
        for n in range(N):
            for k in range(K):
                for i in range(H_out):
                    for j in range(W_out):
                        window = xp[n, :, i * stride:i * stride + f, j * stride:j * stride + f]
                        out[n, k, i, j] = (window * w[k]).sum() + b[k]
        return out
    """,
]
WRONG["conv2d-forward"] = [
    ("flipped-kernel", """
    import torch
    import torch.nn.functional as F

    def conv2d_forward(x, w, b, stride=1, pad=0):
        f = w.shape[-1]
        wf = w.flip(-1).flip(-2)   # "convolution flips the kernel"
        win = F.pad(x, (pad, pad, pad, pad)).unfold(2, f, stride).unfold(3, f, stride)
        return torch.einsum("nchwuv,kcuv->nkhw", win, wf) + b[None, :, None, None]
    """),
    ("missing-bias", """
    import torch
    import torch.nn.functional as F

    def conv2d_forward(x, w, b, stride=1, pad=0):
        f = w.shape[-1]
        win = F.pad(x, (pad, pad, pad, pad)).unfold(2, f, stride).unfold(3, f, stride)
        return torch.einsum("nchwuv,kcuv->nkhw", win, w)
    """),
    ("stride-ignored", """
    import torch
    import torch.nn.functional as F

    def conv2d_forward(x, w, b, stride=1, pad=0):
        f = w.shape[-1]
        xp = F.pad(x, (pad, pad, pad, pad))
        H_out = xp.shape[2] - f + 1
        W_out = xp.shape[3] - f + 1
        out = torch.zeros(x.shape[0], w.shape[0], H_out, W_out, dtype=x.dtype)
        for i in range(H_out):
            for j in range(W_out):
                out[:, :, i, j] = torch.einsum("ncuv,kcuv->nk", xp[:, :, i:i + f, j:j + f], w) + b
        return out
    """),
    ("padding-ignored", """
    import torch

    def conv2d_forward(x, w, b, stride=1, pad=0):
        f = w.shape[-1]
        win = x.unfold(2, f, stride).unfold(3, f, stride)
        return torch.einsum("nchwuv,kcuv->nkhw", win, w) + b[None, :, None, None]
    """),
]
FORBIDDEN["conv2d-forward"] = """
import torch.nn.functional as F

def conv2d_forward(x, w, b, stride=1, pad=0):
    return F.conv2d(x, w, b, stride=stride, padding=pad)
"""

CORRECT["maxpool2d-forward"] = [
    """
    import torch

    def maxpool2d_forward(x, pool=2, stride=2):
        N, C, H, W = x.shape
        H_out = (H - pool) // stride + 1
        W_out = (W - pool) // stride + 1
        out = torch.empty((N, C, H_out, W_out), dtype=x.dtype)
        for i in range(H_out):
            for j in range(W_out):
                window = x[:, :, i * stride:i * stride + pool, j * stride:j * stride + pool]
                out[:, :, i, j] = window.reshape(N, C, -1).max(dim=2).values
        return out
    """,
    """
    def maxpool2d_forward(x, pool=2, stride=2):
        return x.unfold(2, pool, stride).unfold(3, pool, stride).amax(dim=(-2, -1))
    """,
    """
    import torch.nn.functional as F

    def maxpool2d_forward(x, pool=2, stride=2):
        N, C, H, W = x.shape
        cols = F.unfold(x.reshape(N * C, 1, H, W), kernel_size=pool, stride=stride)   # (N*C, pool*pool, L)
        return cols.max(dim=1).values.reshape(N, C, (H - pool) // stride + 1, (W - pool) // stride + 1)
    """,
]
WRONG["maxpool2d-forward"] = [
    ("average-not-max", """
    def maxpool2d_forward(x, pool=2, stride=2):
        return x.unfold(2, pool, stride).unfold(3, pool, stride).mean(dim=(-2, -1))
    """),
    ("stride-is-pool", """
    def maxpool2d_forward(x, pool=2, stride=2):
        return x.unfold(2, pool, pool).unfold(3, pool, pool).amax(dim=(-2, -1))
    """),
    ("ceil-mode", """
    import math
    import torch

    def maxpool2d_forward(x, pool=2, stride=2):
        N, C, H, W = x.shape
        H_out = math.ceil((H - pool) / stride) + 1
        W_out = math.ceil((W - pool) / stride) + 1
        if (H_out - 1) * stride >= H:
            H_out -= 1
        if (W_out - 1) * stride >= W:
            W_out -= 1
        out = torch.empty((N, C, H_out, W_out), dtype=x.dtype)
        for i in range(H_out):
            for j in range(W_out):
                out[:, :, i, j] = x[:, :, i * stride:i * stride + pool, j * stride:j * stride + pool].amax(dim=(2, 3))
        return out
    """),
    ("max-over-channels", """
    import torch

    def maxpool2d_forward(x, pool=2, stride=2):
        N, C, H, W = x.shape
        H_out, W_out = (H - pool) // stride + 1, (W - pool) // stride + 1
        out = torch.empty((N, C, H_out, W_out), dtype=x.dtype)
        for n in range(N):
            for i in range(H_out):
                for j in range(W_out):
                    out[n, :, i, j] = x[n, :, i * stride:i * stride + pool, j * stride:j * stride + pool].max()
        return out
    """),
]
FORBIDDEN["maxpool2d-forward"] = """
import torch

def maxpool2d_forward(x, pool=2, stride=2):
    return torch.nn.functional.max_pool2d(x, pool, stride)
"""

CORRECT["maxpool2d-backward"] = [
    """
    import torch

    def maxpool2d_backward(dout, x, pool=2, stride=2):
        # CS231n-style loops; argmax picks the first maximum
        N, C, H_out, W_out = dout.shape
        dx = torch.zeros_like(x)
        for n in range(N):
            for c in range(C):
                for i in range(H_out):
                    for j in range(W_out):
                        window = x[n, c, i * stride:i * stride + pool, j * stride:j * stride + pool]
                        idx = int(torch.argmax(window))
                        u, v = divmod(idx, pool)
                        dx[n, c, i * stride + u, j * stride + v] += dout[n, c, i, j]
        return dx
    """,
    """
    import torch
    import torch.nn.functional as F

    def maxpool2d_backward(dout, x, pool=2, stride=2):
        # im2col: one-hot of the argmax per column, then fold (sums overlapping windows)
        N, C, H, W = x.shape
        cols = F.unfold(x.reshape(N * C, 1, H, W), kernel_size=pool, stride=stride)   # (N*C, k*k, L)
        first = cols.argmax(dim=1, keepdim=True)
        onehot = torch.zeros_like(cols).scatter_(1, first, 1.0)
        dcols = onehot * dout.reshape(N * C, 1, -1)
        dx = F.fold(dcols, output_size=(H, W), kernel_size=pool, stride=stride)
        return dx.reshape(N, C, H, W)
    """,
    """
    import torch

    def maxpool2d_backward(dout, x, pool=2, stride=2):
        # flat indices of the maxima, then index_add on the flattened input
        N, C, H, W = x.shape
        win = x.unfold(2, pool, stride).unfold(3, pool, stride)              # (N, C, H', W', k, k)
        Ho, Wo = win.shape[2], win.shape[3]
        arg = win.reshape(N, C, Ho, Wo, pool * pool).argmax(dim=-1)          # (N, C, H', W')
        rows = torch.arange(Ho).view(Ho, 1) * stride + arg // pool
        cols = torch.arange(Wo).view(1, Wo) * stride + arg % pool
        flat = (rows * W + cols).reshape(N * C, -1)
        dx = torch.zeros(N * C, H * W, dtype=x.dtype)
        dx.scatter_add_(1, flat, dout.reshape(N * C, -1))
        return dx.reshape(N, C, H, W)
    """,
]
WRONG["maxpool2d-backward"] = [
    ("overwrite-not-accumulate", """
    import torch

    def maxpool2d_backward(dout, x, pool=2, stride=2):
        N, C, H_out, W_out = dout.shape
        dx = torch.zeros_like(x)
        for n in range(N):
            for c in range(C):
                for i in range(H_out):
                    for j in range(W_out):
                        window = x[n, c, i * stride:i * stride + pool, j * stride:j * stride + pool]
                        u, v = divmod(int(torch.argmax(window)), pool)
                        dx[n, c, i * stride + u, j * stride + v] = dout[n, c, i, j]
        return dx
    """),
    ("all-ties-get-gradient", """
    import torch

    def maxpool2d_backward(dout, x, pool=2, stride=2):
        N, C, H_out, W_out = dout.shape
        dx = torch.zeros_like(x)
        for i in range(H_out):
            for j in range(W_out):
                window = x[:, :, i * stride:i * stride + pool, j * stride:j * stride + pool]
                mask = window == window.amax(dim=(2, 3), keepdim=True)
                dx[:, :, i * stride:i * stride + pool, j * stride:j * stride + pool] += mask * dout[:, :, i:i + 1, j:j + 1]
        return dx
    """),
    ("spread-over-window", """
    import torch

    def maxpool2d_backward(dout, x, pool=2, stride=2):
        dx = torch.zeros_like(x)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                dx[:, :, i * stride:i * stride + pool, j * stride:j * stride + pool] += dout[:, :, i:i + 1, j:j + 1] / pool ** 2
        return dx
    """),
    ("mask-without-dout", """
    import torch

    def maxpool2d_backward(dout, x, pool=2, stride=2):
        N, C, H_out, W_out = dout.shape
        dx = torch.zeros_like(x)
        for n in range(N):
            for c in range(C):
                for i in range(H_out):
                    for j in range(W_out):
                        window = x[n, c, i * stride:i * stride + pool, j * stride:j * stride + pool]
                        u, v = divmod(int(torch.argmax(window)), pool)
                        dx[n, c, i * stride + u, j * stride + v] += 1
        return dx
    """),
]
FORBIDDEN["maxpool2d-backward"] = """
import torch

def maxpool2d_backward(dout, x, pool=2, stride=2):
    x = x.clone().requires_grad_()
    torch.nn.functional.max_pool2d(x, pool, stride).backward(dout)
    return x.grad
"""

CORRECT["avgpool2d-forward"] = [
    """
    import torch

    def avgpool2d_forward(x, pool=2, stride=2):
        N, C, H, W = x.shape
        H_out, W_out = (H - pool) // stride + 1, (W - pool) // stride + 1
        out = torch.empty((N, C, H_out, W_out), dtype=x.dtype)
        for i in range(H_out):
            for j in range(W_out):
                out[:, :, i, j] = x[:, :, i * stride:i * stride + pool, j * stride:j * stride + pool].sum(dim=(2, 3)) / pool ** 2
        return out
    """,
    """
    import torch
    import torch.nn.functional as F

    def avgpool2d_forward(x, pool=2, stride=2):
        # a depthwise convolution with a constant kernel, written as unfold + matmul
        N, C, H, W = x.shape
        cols = F.unfold(x.reshape(N * C, 1, H, W), kernel_size=pool, stride=stride)
        kernel = torch.full((1, pool * pool), 1.0 / pool ** 2, dtype=x.dtype)
        out = kernel @ cols                                                   # (N*C, 1, L)
        return out.reshape(N, C, (H - pool) // stride + 1, (W - pool) // stride + 1)
    """,
]
WRONG["avgpool2d-forward"] = [
    ("sum-not-mean", """
    def avgpool2d_forward(x, pool=2, stride=2):
        return x.unfold(2, pool, stride).unfold(3, pool, stride).sum(dim=(-2, -1))
    """),
    ("divide-by-pool", """
    def avgpool2d_forward(x, pool=2, stride=2):
        return x.unfold(2, pool, stride).unfold(3, pool, stride).sum(dim=(-2, -1)) / pool
    """),
    ("stride-is-pool", """
    import torch

    def avgpool2d_forward(x, pool=2, stride=2):
        N, C, H, W = x.shape
        H_out, W_out = (H - pool) // pool + 1, (W - pool) // pool + 1
        out = torch.empty((N, C, H_out, W_out), dtype=x.dtype)
        for i in range(H_out):
            for j in range(W_out):
                out[:, :, i, j] = x[:, :, i * pool:(i + 1) * pool, j * pool:(j + 1) * pool].mean(dim=(2, 3))
        return out
    """),
]
FORBIDDEN["avgpool2d-forward"] = """
from torch.nn.functional import avg_pool2d

def avgpool2d_forward(x, pool=2, stride=2):
    return avg_pool2d(x, pool, stride)
"""

CORRECT["avgpool2d-backward"] = [
    """
    import torch

    def avgpool2d_backward(dout, x, pool=2, stride=2):
        dx = torch.zeros_like(x)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                dx[:, :, i * stride:i * stride + pool, j * stride:j * stride + pool] += dout[:, :, i:i + 1, j:j + 1] / (pool * pool)
        return dx
    """,
    """
    import torch
    import torch.nn.functional as F

    def avgpool2d_backward(dout, x, pool=2, stride=2):
        # col2im: every column gets dout / pool^2, fold sums the overlaps
        N, C, H, W = x.shape
        dcols = dout.reshape(N * C, 1, -1).expand(N * C, pool * pool, -1) / pool ** 2
        return F.fold(dcols, output_size=(H, W), kernel_size=pool, stride=stride).reshape(N, C, H, W)
    """,
    """
    import torch
    import torch.nn.functional as F

    def avgpool2d_backward(dout, x, pool=2, stride=2):
        # a transposed convolution with a constant kernel, zero-padded to x's size
        N, C, H, W = x.shape
        Ho, Wo = dout.shape[2], dout.shape[3]
        kernel = torch.full((1, 1, pool, pool), 1.0 / pool ** 2, dtype=x.dtype)
        dx = F.conv_transpose2d(dout.reshape(N * C, 1, Ho, Wo), kernel, stride=stride)
        dx = F.pad(dx, (0, W - dx.shape[3], 0, H - dx.shape[2]))
        return dx.reshape(N, C, H, W)
    """,
]
WRONG["avgpool2d-backward"] = [
    ("no-division", """
    import torch

    def avgpool2d_backward(dout, x, pool=2, stride=2):
        dx = torch.zeros_like(x)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                dx[:, :, i * stride:i * stride + pool, j * stride:j * stride + pool] += dout[:, :, i:i + 1, j:j + 1]
        return dx
    """),
    ("divide-by-pool", """
    import torch

    def avgpool2d_backward(dout, x, pool=2, stride=2):
        dx = torch.zeros_like(x)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                dx[:, :, i * stride:i * stride + pool, j * stride:j * stride + pool] += dout[:, :, i:i + 1, j:j + 1] / pool
        return dx
    """),
    ("overwrite-not-accumulate", """
    import torch

    def avgpool2d_backward(dout, x, pool=2, stride=2):
        dx = torch.zeros_like(x)
        for i in range(dout.shape[2]):
            for j in range(dout.shape[3]):
                dx[:, :, i * stride:i * stride + pool, j * stride:j * stride + pool] = dout[:, :, i:i + 1, j:j + 1] / pool ** 2
        return dx
    """),
]

# ---------------------------------------------------------------- tests


(test_correct_formulation_gets_full_marks, test_known_mistake_loses_marks_and_is_named,
 test_forbidden_api_scores_zero, test_every_mistake_of_these_problems_is_exercised) = \
    make_bank_tests(CORRECT, WRONG, FORBIDDEN, min_correct=2)


