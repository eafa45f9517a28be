"""The NumPy (CS231n-style) problems in problems/cs231n/, graded through the real engine.

For each problem:
* CORRECT: different but equivalent formulations a student could write (loops vs vectorised,
  np.einsum vs @, reshape vs flatten, ...). Each must get full marks.
* WRONG: each known mistake written as a student would write it, which must lose marks and be
  named in the feedback, plus submissions that return the wrong TYPE (a torch tensor, a list,
  a numpy scalar where a Python float is expected), which must fail with a message saying so.

Every grade starts a sandboxed child, so each list is kept short.
"""
from __future__ import annotations

import pytest

# ---------------------------------------------------------------- submissions that must pass

CORRECT: dict[str, dict[str, str]] = {}
# problem -> label -> (source, expected): expected is ("mistake", name) or ("message", text)
WRONG: dict[str, dict[str, tuple[str, tuple[str, str]]]] = {}


def mistake(name: str) -> tuple[str, str]:
    return ("mistake", name)


def message(text: str) -> tuple[str, str]:
    return ("message", text)


# ---------------------------------------------------------------- affine-forward

CORRECT["affine-forward"] = {
    "reshape-matmul": """
        import numpy as np

        def affine_forward(x, w, b):
            N = x.shape[0]
            return x.reshape(N, -1) @ w + b
    """,
    "einsum-flatten-rows": """
        import numpy as np

        def affine_forward(x, w, b):
            x2 = np.stack([row.flatten() for row in x])
            return np.einsum("nd,dm->nm", x2, w) + b[None, :]
    """,
    "loops-dtype-kept": """
        import numpy as np

        def affine_forward(x, w, b):
            N, M = x.shape[0], w.shape[1]
            x2 = np.reshape(x, (N, np.prod(x.shape[1:])))
            out = np.zeros((N, M), dtype=x.dtype)
            for i in range(N):
                out[i] = np.dot(x2[i], w) + b
            return out
    """,
}
WRONG["affine-forward"] = {
    "no-bias": ("""
        import numpy as np

        def affine_forward(x, w, b):
            return np.dot(x.reshape(x.shape[0], -1), w)
    """, mistake("no-bias")),
    "transposed-reshape": ("""
        import numpy as np

        def affine_forward(x, w, b):
            N = x.shape[0]
            x2 = x.reshape(-1, N).T    # (N, D), or so it seems
            return x2.dot(w) + b
    """, mistake("transposed-reshape")),
    "float64-output": ("""
        import numpy as np

        def affine_forward(x, w, b):
            N = x.shape[0]
            x2 = x.reshape(N, -1)
            out = np.zeros((N, w.shape[1]))
            for i in range(N):
                for j in range(w.shape[1]):
                    out[i, j] = x2[i] @ w[:, j] + b[j]
            return out
    """, mistake("float64-output")),
    "returns-cache-tuple": ("""
        import numpy as np

        def affine_forward(x, w, b):
            out = x.reshape(x.shape[0], -1) @ w + b
            return out, (x, w, b)
    """, message("output should be a numpy.ndarray, got a tuple of 2 items")),
    "torch-tensor": ("""
        import numpy as np
        import torch

        def affine_forward(x, w, b):
            xt = torch.from_numpy(x).reshape(x.shape[0], -1)
            return xt @ torch.from_numpy(w) + torch.from_numpy(b)
    """, message("output should be a numpy.ndarray, got a torch.Tensor")),
}

# ---------------------------------------------------------------- affine-backward

CORRECT["affine-backward"] = {
    "vectorised": """
        import numpy as np

        def affine_backward(dout, x, w, b):
            x2 = x.reshape(x.shape[0], -1)
            dx = (dout @ w.T).reshape(x.shape)
            dw = x2.T @ dout
            db = np.sum(dout, axis=0)
            return dx, dw, db
    """,
    "einsum-list-ok": """
        import numpy as np

        def affine_backward(dout, x, w, b):
            x2 = np.reshape(x, (len(x), -1))
            dx = np.einsum("nm,dm->nd", dout, w).reshape(*x.shape)
            dw = np.einsum("nd,nm->dm", x2, dout)
            db = np.ones(len(x), dtype=dout.dtype) @ dout
            return (dx, dw, db)
    """,
    "outer-product-loop": """
        import numpy as np

        def affine_backward(dout, x, w, b):
            N = x.shape[0]
            x2 = x.reshape(N, -1)
            dw = np.zeros_like(w)
            db = np.zeros_like(b)
            for i in range(N):
                dw += np.outer(x2[i], dout[i])
                db += dout[i]
            dx = dout.dot(w.T).reshape(x.shape)
            return dx, dw, db
    """,
}
WRONG["affine-backward"] = {
    "dx-not-reshaped": ("""
        import numpy as np

        def affine_backward(dout, x, w, b):
            x2 = x.reshape(x.shape[0], -1)
            return dout @ w.T, x2.T @ dout, dout.sum(axis=0)
    """, mistake("dx-not-reshaped")),
    "db-mean": ("""
        import numpy as np

        def affine_backward(dout, x, w, b):
            x2 = x.reshape(x.shape[0], -1)
            return (dout @ w.T).reshape(x.shape), x2.T @ dout, np.mean(dout, axis=0)
    """, mistake("db-mean")),
    "dw-transposed": ("""
        import numpy as np

        def affine_backward(dout, x, w, b):
            x2 = x.reshape(x.shape[0], -1)
            return (dout @ w.T).reshape(x.shape), dout.T @ x2, dout.sum(axis=0)
    """, mistake("dw-transposed")),
    "divided-by-n": ("""
        import numpy as np

        def affine_backward(dout, x, w, b):
            N = x.shape[0]
            x2 = x.reshape(N, -1)
            return (dout @ w.T).reshape(x.shape), (x2.T @ dout) / N, dout.sum(axis=0) / N
    """, mistake("divided-by-n")),
    "list-of-gradients": ("""
        import numpy as np

        def affine_backward(dout, x, w, b):
            x2 = x.reshape(x.shape[0], -1)
            return [(dout @ w.T).reshape(x.shape), x2.T @ dout, dout.sum(axis=0)]
    """, message("output should be a tuple of 3 items, got a list of 3 items")),
}

# ---------------------------------------------------------------- relu-forward-numpy

CORRECT["relu-forward-numpy"] = {
    "maximum": """
        import numpy as np

        def relu_forward(x):
            return np.maximum(x, 0)
    """,
    "mask-multiply": """
        def relu_forward(x):
            return x * (x > 0)
    """,
    "where-zeros-like": """
        import numpy as np

        def relu_forward(x):
            out = np.zeros_like(x)
            np.copyto(out, x, where=x > 0)
            return out
    """,
    "copy-and-assign": """
        def relu_forward(x):
            out = x.copy()
            out[out < 0] = 0
            return out
    """,
}
WRONG["relu-forward-numpy"] = {
    "reduce-max": ("""
        import numpy as np

        def relu_forward(x):
            return np.max(x, 0)
    """, mistake("reduce-max")),
    "leaky-relu": ("""
        import numpy as np

        def relu_forward(x):
            return np.where(x > 0, x, 0.01 * x)
    """, mistake("leaky-relu")),
    "absolute-value": ("""
        def relu_forward(x):
            return abs(x)
    """, mistake("absolute-value")),
    "float64-output": ("""
        import numpy as np

        def relu_forward(x):
            out = np.zeros(x.shape)
            out[x > 0] = x[x > 0]
            return out
    """, mistake("float64-output")),
    "python-list": ("""
        def relu_forward(x):
            return [max(0.0, float(v)) for v in x.ravel()]
    """, message("output should be a numpy.ndarray, got a list")),
}

# ---------------------------------------------------------------- relu-backward-numpy

CORRECT["relu-backward-numpy"] = {
    "mask-multiply": """
        def relu_backward(dout, x):
            return dout * (x > 0)
    """,
    "copy-and-zero": """
        def relu_backward(dout, x):
            dx = dout.copy()
            dx[x <= 0] = 0
            return dx
    """,
    "where": """
        import numpy as np

        def relu_backward(dout, x):
            return np.where(x > 0, dout, np.zeros_like(dout))
    """,
}
WRONG["relu-backward-numpy"] = {
    "gradient-at-zero": ("""
        def relu_backward(dout, x):
            dx = dout.copy()
            dx[x < 0] = 0
            return dx
    """, mistake("gradient-at-zero")),
    "no-upstream-gradient": ("""
        import numpy as np

        def relu_backward(dout, x):
            return (x > 0).astype(x.dtype)
    """, mistake("no-upstream-gradient")),
    "mask-from-dout": ("""
        import numpy as np

        def relu_backward(dout, x):
            return np.maximum(dout, 0)
    """, mistake("mask-from-dout")),
    "times-relu-output": ("""
        import numpy as np

        def relu_backward(dout, x):
            return dout * np.maximum(0, x)
    """, mistake("times-relu-output")),
    "bool-mask-dtype": ("""
        def relu_backward(dout, x):
            return (dout != 0) & (x > 0)
    """, message("output has dtype bool, expected float")),
}


# ---------------------------------------------------------------- softmax-loss

CORRECT["softmax-loss"] = {
    "shift-then-probabilities": """
        import numpy as np

        def softmax_loss(x, y):
            N = x.shape[0]
            shifted = x - np.max(x, axis=1, keepdims=True)
            probs = np.exp(shifted)
            probs /= np.sum(probs, axis=1, keepdims=True)
            loss = -np.sum(np.log(probs[np.arange(N), y])) / N
            dx = probs.copy()
            dx[np.arange(N), y] -= 1
            dx /= N
            return float(loss), dx
    """,
    "log-sum-exp": """
        import numpy as np

        def softmax_loss(x, y):
            N = len(y)
            m = x.max(axis=1, keepdims=True)
            lse = m + np.log(np.exp(x - m).sum(axis=1, keepdims=True))   # (N, 1)
            log_p = x - lse
            loss = -log_p[np.arange(N), y].mean()
            dx = (np.exp(log_p) - np.eye(x.shape[1], dtype=x.dtype)[y]) / N
            return loss.item(), dx
    """,
    "loop-over-samples": """
        import numpy as np

        def softmax_loss(x, y):
            N, C = x.shape
            loss = 0.0
            dx = np.zeros_like(x)
            for i in range(N):
                s = x[i] - x[i].max()
                p = np.exp(s) / np.exp(s).sum()
                loss += np.log(np.exp(s).sum()) - s[y[i]]
                for j in range(C):
                    dx[i, j] = (p[j] - (j == y[i])) / N
            return float(loss / N), dx
    """,
    "numpy-float32-loss": """
        import numpy as np

        def softmax_loss(x, y):
            N = x.shape[0]
            shifted = x - x.max(axis=1, keepdims=True)
            probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
            loss = np.float32(-np.log(probs[np.arange(N), y]).mean())  # numpy.float32: a number, accepted (issue 12)
            probs[np.arange(N), y] -= 1
            return loss, probs / N
    """,
}
WRONG["softmax-loss"] = {
    "no-max-shift": ("""
        import numpy as np

        def softmax_loss(x, y):
            N = x.shape[0]
            probs = np.exp(x) / np.sum(np.exp(x), axis=1, keepdims=True)
            loss = -np.mean(np.log(probs[np.arange(N), y]))
            dx = probs.copy()
            dx[np.arange(N), y] -= 1
            return float(loss), dx / N
    """, mistake("no-max-shift")),
    "summed-not-averaged": ("""
        import numpy as np

        def softmax_loss(x, y):
            N = x.shape[0]
            shifted = x - x.max(axis=1, keepdims=True)
            probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
            loss = -np.log(probs[np.arange(N), y]).sum()
            probs[np.arange(N), y] -= 1
            return float(loss), probs
    """, mistake("summed-not-averaged")),
    "dx-not-averaged": ("""
        import numpy as np

        def softmax_loss(x, y):
            N = x.shape[0]
            shifted = x - x.max(axis=1, keepdims=True)
            probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
            loss = -np.log(probs[np.arange(N), y]).mean()
            probs[np.arange(N), y] -= 1
            return float(loss), probs
    """, mistake("dx-not-averaged")),
    "dx-sign-flipped": ("""
        import numpy as np

        def softmax_loss(x, y):
            N, C = x.shape
            shifted = x - x.max(axis=1, keepdims=True)
            probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)
            loss = -np.log(probs[np.arange(N), y]).mean()
            onehot = np.eye(C, dtype=x.dtype)[y]
            return float(loss), (onehot - probs) / N
    """, mistake("dx-sign-flipped")),
}

# ---------------------------------------------------------------- svm-loss

CORRECT["svm-loss"] = {
    "vectorised": """
        import numpy as np

        def svm_loss(x, y):
            N = x.shape[0]
            correct = x[np.arange(N), y]
            margins = np.maximum(0, x - correct[:, np.newaxis] + 1.0)
            margins[np.arange(N), y] = 0
            loss = np.sum(margins) / N
            num_pos = np.sum(margins > 0, axis=1)
            dx = np.zeros_like(x)
            dx[margins > 0] = 1
            dx[np.arange(N), y] -= num_pos
            dx /= N
            return float(loss), dx
    """,
    "naive-loops": """
        import numpy as np

        def svm_loss(x, y):
            N, C = x.shape
            loss = 0.0
            dx = np.zeros_like(x)
            for i in range(N):
                for j in range(C):
                    if j == y[i]:
                        continue
                    margin = x[i, j] - x[i, y[i]] + 1
                    if margin > 0:
                        loss += margin
                        dx[i, j] += 1
                        dx[i, y[i]] -= 1
            return float(loss / N), dx / N
    """,
    "masks": """
        import numpy as np

        def svm_loss(x, y):
            N, C = x.shape
            is_correct = np.arange(C)[None, :] == y[:, None]          # (N, C) bool
            correct = np.sum(np.where(is_correct, x, 0), axis=1, keepdims=True)
            margins = np.where(is_correct, 0, np.clip(x - correct + 1, 0, None))
            active = (margins > 0).astype(x.dtype)
            dx = (active - is_correct * active.sum(axis=1, keepdims=True)) / N
            return float(margins.sum() / N), dx.astype(x.dtype)
    """,
}
WRONG["svm-loss"] = {
    "counts-correct-class": ("""
        import numpy as np

        def svm_loss(x, y):
            N = x.shape[0]
            margins = np.maximum(0, x - x[np.arange(N), y][:, None] + 1)
            loss = margins.sum() / N
            active = (margins > 0).astype(x.dtype)
            active[np.arange(N), y] -= active.sum(axis=1)
            return float(loss), active / N
    """, mistake("counts-correct-class")),
    "not-averaged": ("""
        import numpy as np

        def svm_loss(x, y):
            N, C = x.shape
            loss = 0.0
            dx = np.zeros_like(x)
            for i in range(N):
                for j in range(C):
                    margin = x[i, j] - x[i, y[i]] + 1
                    if j != y[i] and margin > 0:
                        loss += margin
                        dx[i, j] += 1
                        dx[i, y[i]] -= 1
            return float(loss), dx
    """, mistake("not-averaged")),
    "no-correct-class-gradient": ("""
        import numpy as np

        def svm_loss(x, y):
            N = x.shape[0]
            margins = np.maximum(0, x - x[np.arange(N), y][:, None] + 1)
            margins[np.arange(N), y] = 0
            dx = (margins > 0).astype(x.dtype) / N
            return float(margins.sum() / N), dx
    """, mistake("no-correct-class-gradient")),
    "zero-margin": ("""
        import numpy as np

        def svm_loss(x, y):
            N = x.shape[0]
            margins = np.maximum(0, x - x[np.arange(N), y][:, None])
            margins[np.arange(N), y] = 0
            dx = (margins > 0).astype(x.dtype)
            dx[np.arange(N), y] = -dx.sum(axis=1)
            return float(margins.sum() / N), dx / N
    """, mistake("zero-margin")),
    "swapped-return-order": ("""
        import numpy as np

        def svm_loss(x, y):
            N = x.shape[0]
            margins = np.maximum(0, x - x[np.arange(N), y][:, None] + 1)
            margins[np.arange(N), y] = 0
            dx = (margins > 0).astype(x.dtype)
            dx[np.arange(N), y] = -dx.sum(axis=1)
            return dx / N, float(margins.sum() / N)
    """, message("output[0] should be a float, got a numpy.ndarray")),
}


# ---------------------------------------------------------------- batchnorm-forward-numpy

CORRECT["batchnorm-forward-numpy"] = {
    "np-var": """
        import numpy as np

        def batchnorm_forward(x, gamma, beta, eps=1e-5):
            mu = np.mean(x, axis=0)
            var = np.var(x, axis=0)
            x_hat = (x - mu) / np.sqrt(var + eps)
            return gamma * x_hat + beta
    """,
    "second-moment-inverse-std": """
        import numpy as np

        def batchnorm_forward(x, gamma, beta, eps=1e-5):
            N = x.shape[0]
            mu = x.sum(axis=0) / N
            var = (x ** 2).mean(axis=0) - mu ** 2       # E[x^2] - E[x]^2
            inv_std = 1.0 / np.sqrt(var + eps)
            return (x - mu) * (gamma * inv_std) + beta
    """,
    "loop-over-features": """
        import numpy as np

        def batchnorm_forward(x, gamma, beta, eps=1e-5):
            out = np.empty_like(x)
            for d in range(x.shape[1]):
                col = x[:, d]
                m = col.mean()
                v = ((col - m) ** 2).mean()
                out[:, d] = gamma[d] * (col - m) / np.sqrt(v + eps) + beta[d]
            return out
    """,
}
WRONG["batchnorm-forward-numpy"] = {
    "unbiased-variance": ("""
        import numpy as np

        def batchnorm_forward(x, gamma, beta, eps=1e-5):
            mu = x.mean(axis=0)
            var = x.var(axis=0, ddof=1)
            return gamma * (x - mu) / np.sqrt(var + eps) + beta
    """, mistake("unbiased-variance")),
    "eps-outside-sqrt": ("""
        import numpy as np

        def batchnorm_forward(x, gamma, beta, eps=1e-5):
            mu = x.mean(axis=0)
            std = x.std(axis=0)
            return gamma * (x - mu) / (std + eps) + beta
    """, mistake("eps-outside-sqrt")),
    "normalised-over-features": ("""
        import numpy as np

        def batchnorm_forward(x, gamma, beta, eps=1e-5):
            mu = x.mean(axis=1, keepdims=True)
            var = x.var(axis=1, keepdims=True)
            return gamma * (x - mu) / np.sqrt(var + eps) + beta
    """, mistake("normalised-over-features")),
    "no-scale-shift": ("""
        import numpy as np

        def batchnorm_forward(x, gamma, beta, eps=1e-5):
            return (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)
    """, mistake("no-scale-shift")),
    "returns-out-and-cache": ("""
        import numpy as np

        def batchnorm_forward(x, gamma, beta, eps=1e-5):
            mu, var = x.mean(axis=0), x.var(axis=0)
            x_hat = (x - mu) / np.sqrt(var + eps)
            out = gamma * x_hat + beta
            return out, (x_hat, gamma, var, eps)
    """, message("output should be a numpy.ndarray, got a tuple of 2 items")),
}

# ---------------------------------------------------------------- batchnorm-backward-numpy

CORRECT["batchnorm-backward-numpy"] = {
    "staged-graph": """
        import numpy as np

        def batchnorm_backward(dout, x, gamma, beta, eps=1e-5):
            N, D = x.shape
            # forward, one node at a time
            mu = 1.0 / N * np.sum(x, axis=0)
            xmu = x - mu
            sq = xmu ** 2
            var = 1.0 / N * np.sum(sq, axis=0)
            sqrtvar = np.sqrt(var + eps)
            ivar = 1.0 / sqrtvar
            xhat = xmu * ivar
            # backward, in reverse
            dbeta = np.sum(dout, axis=0)
            dgamma = np.sum(dout * xhat, axis=0)
            dxhat = dout * gamma
            divar = np.sum(dxhat * xmu, axis=0)
            dxmu1 = dxhat * ivar
            dsqrtvar = -1.0 / (sqrtvar ** 2) * divar
            dvar = 0.5 * 1.0 / np.sqrt(var + eps) * dsqrtvar
            dsq = 1.0 / N * np.ones((N, D), dtype=x.dtype) * dvar
            dxmu2 = 2 * xmu * dsq
            dx1 = dxmu1 + dxmu2
            dmu = -1 * np.sum(dxmu1 + dxmu2, axis=0)
            dx2 = 1.0 / N * np.ones((N, D), dtype=x.dtype) * dmu
            return dx1 + dx2, dgamma, dbeta
    """,
    "compact-means": """
        import numpy as np

        def batchnorm_backward(dout, x, gamma, beta, eps=1e-5):
            inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)
            x_hat = (x - x.mean(axis=0)) * inv_std
            dgamma = (dout * x_hat).sum(axis=0)
            dbeta = dout.sum(axis=0)
            dx = gamma * inv_std * (dout - dout.mean(axis=0) - x_hat * (dout * x_hat).mean(axis=0))
            return dx, dgamma, dbeta
    """,
    "dvar-dmu": """
        import numpy as np

        def batchnorm_backward(dout, x, gamma, beta, eps=1e-5):
            N = x.shape[0]
            mu = x.mean(axis=0)
            var = (x * x).mean(axis=0) - mu * mu
            x_hat = (x - mu) / np.sqrt(var + eps)
            dx_hat = dout * gamma
            dvar = np.sum(dx_hat * (x - mu) * -0.5 * (var + eps) ** -1.5, axis=0)
            dmu = np.sum(-dx_hat / np.sqrt(var + eps), axis=0) + dvar * np.mean(-2 * (x - mu), axis=0)
            dx = dx_hat / np.sqrt(var + eps) + dvar * 2 * (x - mu) / N + dmu / N
            return dx, np.einsum("nd,nd->d", dout, x_hat), dout.sum(axis=0)
    """,
}
WRONG["batchnorm-backward-numpy"] = {
    "constant-statistics": ("""
        import numpy as np

        def batchnorm_backward(dout, x, gamma, beta, eps=1e-5):
            x_hat = (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps)
            dx = dout * gamma / np.sqrt(x.var(axis=0) + eps)
            return dx, np.sum(dout * x_hat, axis=0), np.sum(dout, axis=0)
    """, mistake("constant-statistics")),
    "mean-path-only": ("""
        import numpy as np

        def batchnorm_backward(dout, x, gamma, beta, eps=1e-5):
            inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)
            x_hat = (x - x.mean(axis=0)) * inv_std
            dx = gamma * inv_std * (dout - dout.mean(axis=0))
            return dx, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
    """, mistake("mean-path-only")),
    "dgamma-uses-x": ("""
        import numpy as np

        def batchnorm_backward(dout, x, gamma, beta, eps=1e-5):
            inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)
            x_hat = (x - x.mean(axis=0)) * inv_std
            dx = gamma * inv_std * (dout - dout.mean(axis=0) - x_hat * (dout * x_hat).mean(axis=0))
            return dx, (dout * x).sum(axis=0), dout.sum(axis=0)
    """, mistake("dgamma-uses-x")),
    "dgamma-dbeta-swapped": ("""
        import numpy as np

        def batchnorm_backward(dout, x, gamma, beta, eps=1e-5):
            inv_std = 1.0 / np.sqrt(x.var(axis=0) + eps)
            x_hat = (x - x.mean(axis=0)) * inv_std
            dgamma = (dout * x_hat).sum(axis=0)
            dbeta = dout.sum(axis=0)
            dx = gamma * inv_std * (dout - dout.mean(axis=0) - x_hat * (dout * x_hat).mean(axis=0))
            return dx, dbeta, dgamma
    """, mistake("dgamma-dbeta-swapped")),
    "keepdims-gradients": ("""
        import numpy as np

        def batchnorm_backward(dout, x, gamma, beta, eps=1e-5):
            inv_std = 1.0 / np.sqrt(x.var(axis=0, keepdims=True) + eps)
            x_hat = (x - x.mean(axis=0, keepdims=True)) * inv_std
            dgamma = (dout * x_hat).sum(axis=0, keepdims=True)
            dbeta = dout.sum(axis=0, keepdims=True)
            dx = gamma * inv_std / x.shape[0] * (x.shape[0] * dout - dbeta - x_hat * dgamma)
            return dx, dgamma, dbeta
    """, message("output[1] has shape (1, 3), expected (3,)")),
}


# ---------------------------------------------------------------- conv-forward-naive

CORRECT["conv-forward-naive"] = {
    "four-loops-np-sum": """
        import numpy as np

        def conv_forward_naive(x, w, b, stride, pad):
            N, C, H, W = x.shape
            F, _, HH, WW = w.shape
            H_out = 1 + (H + 2 * pad - HH) // stride
            W_out = 1 + (W + 2 * pad - WW) // stride
            x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
            out = np.zeros((N, F, H_out, W_out), dtype=x.dtype)
            for n in range(N):
                for f in range(F):
                    for i in range(H_out):
                        for j in range(W_out):
                            hs, ws = i * stride, j * stride
                            window = x_pad[n, :, hs:hs + HH, ws:ws + WW]
                            out[n, f, i, j] = np.sum(window * w[f]) + b[f]
            return out
    """,
    "scalar-accumulation": """
        import numpy as np

        def conv_forward_naive(x, w, b, stride, pad):
            N, C, H, W = x.shape
            F, _, HH, WW = w.shape
            Hp, Wp = H + 2 * pad, W + 2 * pad
            x_pad = np.zeros((N, C, Hp, Wp), dtype=x.dtype)
            x_pad[:, :, pad:pad + H, pad:pad + W] = x
            H_out = (Hp - HH) // stride + 1
            W_out = (Wp - WW) // stride + 1
            out = np.empty((N, F, H_out, W_out), dtype=x.dtype)
            for n in range(N):
                for f in range(F):
                    for i in range(H_out):
                        for j in range(W_out):
                            acc = b[f]
                            for c in range(C):
                                for k in range(HH):
                                    for l in range(WW):
                                        acc += x_pad[n, c, i * stride + k, j * stride + l] * w[f, c, k, l]
                            out[n, f, i, j] = acc
            return out
    """,
    "im2col-einsum": """
        import numpy as np

        def conv_forward_naive(x, w, b, stride, pad):
            N, C, H, W = x.shape
            F, _, HH, WW = w.shape
            x_pad = np.pad(x, [(0, 0), (0, 0), (pad, pad), (pad, pad)])
            H_out = 1 + (H + 2 * pad - HH) // stride
            W_out = 1 + (W + 2 * pad - WW) // stride
            cols = np.empty((N, C, HH, WW, H_out, W_out), dtype=x.dtype)
            for k in range(HH):
                for l in range(WW):
                    cols[:, :, k, l] = x_pad[:, :, k:k + stride * H_out:stride, l:l + stride * W_out:stride]
            return np.einsum("nckhij,fckh->nfij", cols, w) + b[None, :, None, None]
    """,
}
WRONG["conv-forward-naive"] = {
    "no-padding": ("""
        import numpy as np

        def conv_forward_naive(x, w, b, stride, pad):
            N, C, H, W = x.shape
            F, _, HH, WW = w.shape
            H_out = 1 + (H - HH) // stride
            W_out = 1 + (W - WW) // stride
            out = np.zeros((N, F, H_out, W_out), dtype=x.dtype)
            for n in range(N):
                for f in range(F):
                    for i in range(H_out):
                        for j in range(W_out):
                            window = x[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                            out[n, f, i, j] = np.sum(window * w[f]) + b[f]
            return out
    """, mistake("no-padding")),
    "no-bias": ("""
        import numpy as np

        def conv_forward_naive(x, w, b, stride, pad):
            N, C, H, W = x.shape
            F, _, HH, WW = w.shape
            H_out = 1 + (H + 2 * pad - HH) // stride
            W_out = 1 + (W + 2 * pad - WW) // stride
            x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            out = np.zeros((N, F, H_out, W_out), dtype=x.dtype)
            for i in range(H_out):
                for j in range(W_out):
                    window = x_pad[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3]))
            return out
    """, mistake("no-bias")),
    "flipped-kernel": ("""
        import numpy as np

        def conv_forward_naive(x, w, b, stride, pad):
            N, C, H, W = x.shape
            F, _, HH, WW = w.shape
            H_out = 1 + (H + 2 * pad - HH) // stride
            W_out = 1 + (W + 2 * pad - WW) // stride
            x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            kernel = np.flip(w, axis=(2, 3))     # "convolution flips the kernel"
            out = np.zeros((N, F, H_out, W_out), dtype=x.dtype)
            for n in range(N):
                for f in range(F):
                    for i in range(H_out):
                        for j in range(W_out):
                            window = x_pad[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                            out[n, f, i, j] = np.sum(window * kernel[f]) + b[f]
            return out
    """, mistake("flipped-kernel")),
    "ignores-stride": ("""
        import numpy as np

        def conv_forward_naive(x, w, b, stride, pad):
            N, C, H, W = x.shape
            F, _, HH, WW = w.shape
            H_out = H + 2 * pad - HH + 1
            W_out = W + 2 * pad - WW + 1
            x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            out = np.zeros((N, F, H_out, W_out), dtype=x.dtype)
            for n in range(N):
                for f in range(F):
                    for i in range(H_out):
                        for j in range(W_out):
                            out[n, f, i, j] = np.sum(x_pad[n, :, i:i + HH, j:j + WW] * w[f]) + b[f]
            return out
    """, mistake("ignores-stride")),
    "returns-out-and-cache": ("""
        import numpy as np

        def conv_forward_naive(x, w, b, stride, pad):
            N, C, H, W = x.shape
            F, _, HH, WW = w.shape
            H_out = 1 + (H + 2 * pad - HH) // stride
            W_out = 1 + (W + 2 * pad - WW) // stride
            x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
            out = np.zeros((N, F, H_out, W_out), dtype=x.dtype)
            for i in range(H_out):
                for j in range(W_out):
                    window = x_pad[:, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                    out[:, :, i, j] = np.tensordot(window, w, axes=([1, 2, 3], [1, 2, 3])) + b
            cache = (x, w, b, {"stride": stride, "pad": pad})
            return out, cache
    """, message("output should be a numpy.ndarray, got a tuple of 2 items")),
}

# ---------------------------------------------------------------- max-pool-forward-naive

CORRECT["max-pool-forward-naive"] = {
    "two-loops-vectorised-window": """
        import numpy as np

        def max_pool_forward_naive(x, pool_height, pool_width, stride):
            N, C, H, W = x.shape
            H_out = 1 + (H - pool_height) // stride
            W_out = 1 + (W - pool_width) // stride
            out = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
            for i in range(H_out):
                for j in range(W_out):
                    hs, ws = i * stride, j * stride
                    out[:, :, i, j] = np.max(x[:, :, hs:hs + pool_height, ws:ws + pool_width], axis=(2, 3))
            return out
    """,
    "four-loops-running-max": """
        import numpy as np

        def max_pool_forward_naive(x, pool_height, pool_width, stride):
            N, C, H, W = x.shape
            H_out = (H - pool_height) // stride + 1
            W_out = (W - pool_width) // stride + 1
            out = np.empty((N, C, H_out, W_out), dtype=x.dtype)
            for n in range(N):
                for c in range(C):
                    for i in range(H_out):
                        for j in range(W_out):
                            best = -np.inf
                            for k in range(pool_height):
                                for l in range(pool_width):
                                    best = max(best, x[n, c, i * stride + k, j * stride + l])
                            out[n, c, i, j] = best
            return out
    """,
    "strided-offsets": """
        import numpy as np

        def max_pool_forward_naive(x, pool_height, pool_width, stride):
            N, C, H, W = x.shape
            H_out = 1 + (H - pool_height) // stride
            W_out = 1 + (W - pool_width) // stride
            out = None
            for k in range(pool_height):
                for l in range(pool_width):
                    part = x[:, :, k:k + stride * (H_out - 1) + 1:stride, l:l + stride * (W_out - 1) + 1:stride]
                    out = part.copy() if out is None else np.maximum(out, part)
            return out
    """,
}
WRONG["max-pool-forward-naive"] = {
    "average-pooling": ("""
        import numpy as np

        def max_pool_forward_naive(x, pool_height, pool_width, stride):
            N, C, H, W = x.shape
            H_out = 1 + (H - pool_height) // stride
            W_out = 1 + (W - pool_width) // stride
            out = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
            for i in range(H_out):
                for j in range(W_out):
                    window = x[:, :, i * stride:i * stride + pool_height, j * stride:j * stride + pool_width]
                    out[:, :, i, j] = window.mean(axis=(2, 3))
            return out
    """, mistake("average-pooling")),
    "max-over-channels": ("""
        import numpy as np

        def max_pool_forward_naive(x, pool_height, pool_width, stride):
            N, C, H, W = x.shape
            H_out = 1 + (H - pool_height) // stride
            W_out = 1 + (W - pool_width) // stride
            out = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
            for n in range(N):
                for i in range(H_out):
                    for j in range(W_out):
                        out[n, :, i, j] = np.max(x[n, :, i * stride:i * stride + pool_height,
                                                   j * stride:j * stride + pool_width])
            return out
    """, mistake("max-over-channels")),
    "stride-is-pool-size": ("""
        import numpy as np

        def max_pool_forward_naive(x, pool_height, pool_width, stride):
            N, C, H, W = x.shape
            H_out, W_out = H // pool_height, W // pool_width
            out = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
            for i in range(H_out):
                for j in range(W_out):
                    window = x[:, :, i * pool_height:(i + 1) * pool_height, j * pool_width:(j + 1) * pool_width]
                    out[:, :, i, j] = window.max(axis=(2, 3))
            return out
    """, mistake("stride-is-pool-size")),
    "height-width-swapped": ("""
        import numpy as np

        def max_pool_forward_naive(x, pool_height, pool_width, stride):
            N, C, H, W = x.shape
            H_out = 1 + (H - pool_height) // stride
            W_out = 1 + (W - pool_width) // stride
            out = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
            for i in range(H_out):
                for j in range(W_out):
                    window = x[:, :, i * stride:i * stride + pool_width, j * stride:j * stride + pool_height]
                    out[:, :, i, j] = window.max(axis=(2, 3))
            return out
    """, mistake("height-width-swapped")),
    "max-starts-at-zero": ("""
        import numpy as np

        def max_pool_forward_naive(x, pool_height, pool_width, stride):
            N, C, H, W = x.shape
            H_out = 1 + (H - pool_height) // stride
            W_out = 1 + (W - pool_width) // stride
            out = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
            for n in range(N):
                for c in range(C):
                    for i in range(H_out):
                        for j in range(W_out):
                            m = 0
                            for k in range(pool_height):
                                for l in range(pool_width):
                                    v = x[n, c, i * stride + k, j * stride + l]
                                    if v > m:
                                        m = v
                            out[n, c, i, j] = m
            return out
    """, mistake("max-starts-at-zero")),
    "nested-lists": ("""
        import numpy as np

        def max_pool_forward_naive(x, pool_height, pool_width, stride):
            N, C, H, W = x.shape
            H_out = 1 + (H - pool_height) // stride
            W_out = 1 + (W - pool_width) // stride
            return [[[[float(x[n, c, i * stride:i * stride + pool_height, j * stride:j * stride + pool_width].max())
                       for j in range(W_out)] for i in range(H_out)] for c in range(C)] for n in range(N)]
    """, message("output should be a numpy.ndarray, got a list")),
}


# ---------------------------------------------------------------- sgd-momentum-numpy

CORRECT["sgd-momentum-numpy"] = {
    "two-lines": """
        def sgd_momentum(w, dw, velocity, learning_rate=1e-2, momentum=0.9):
            v = momentum * velocity - learning_rate * dw
            next_w = w + v
            return next_w, v
    """,
    "in-place": """
        def sgd_momentum(w, dw, velocity, learning_rate=1e-2, momentum=0.9):
            velocity *= momentum
            velocity -= learning_rate * dw
            w += velocity
            return w, velocity
    """,
    "config-dict-inside": """
        import numpy as np

        def sgd_momentum(w, dw, velocity, **kwargs):
            config = {"learning_rate": 1e-2, "momentum": 0.9, "velocity": velocity}
            config.update(kwargs)
            v = config["momentum"] * config["velocity"] - config["learning_rate"] * dw
            config["velocity"] = v
            return np.add(w, v), config["velocity"]
    """,
}
WRONG["sgd-momentum-numpy"] = {
    "pytorch-form": ("""
        def sgd_momentum(w, dw, velocity, learning_rate=1e-2, momentum=0.9):
            v = momentum * velocity + dw
            return w - learning_rate * v, v
    """, mistake("pytorch-form")),
    "old-velocity": ("""
        def sgd_momentum(w, dw, velocity, learning_rate=1e-2, momentum=0.9):
            next_w = w + velocity
            velocity = momentum * velocity - learning_rate * dw
            return next_w, velocity
    """, mistake("old-velocity")),
    "gradient-ascent": ("""
        def sgd_momentum(w, dw, velocity, learning_rate=1e-2, momentum=0.9):
            v = momentum * velocity + learning_rate * dw
            return w + v, v
    """, mistake("gradient-ascent")),
    "nesterov": ("""
        def sgd_momentum(w, dw, velocity, learning_rate=1e-2, momentum=0.9):
            v = momentum * velocity - learning_rate * dw
            return w + momentum * v - learning_rate * dw, v
    """, mistake("nesterov")),
    "returns-config-dict": ("""
        def sgd_momentum(w, dw, velocity, learning_rate=1e-2, momentum=0.9):
            v = momentum * velocity - learning_rate * dw
            return w + v, {"velocity": v}
    """, message("output[1] should be a numpy.ndarray, got a dict")),
}

# ---------------------------------------------------------------- rmsprop-numpy

CORRECT["rmsprop-numpy"] = {
    "two-lines": """
        import numpy as np

        def rmsprop(w, dw, cache, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8):
            cache = decay_rate * cache + (1 - decay_rate) * dw ** 2
            return w - learning_rate * dw / (np.sqrt(cache) + epsilon), cache
    """,
    "in-place-square": """
        import numpy as np

        def rmsprop(w, dw, cache, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8):
            cache *= decay_rate
            cache += (1 - decay_rate) * np.square(dw)
            w -= learning_rate * dw / (np.sqrt(cache) + epsilon)
            return w, cache
    """,
    "config-kwargs": """
        import numpy as np

        def rmsprop(w, dw, cache, **config):
            lr = config.get("learning_rate", 1e-2)
            decay = config.get("decay_rate", 0.99)
            eps = config.get("epsilon", 1e-8)
            new_cache = decay * cache + (1.0 - decay) * dw * dw
            step = lr * dw / (np.power(new_cache, 0.5) + eps)
            return w - step, new_cache
    """,
}
WRONG["rmsprop-numpy"] = {
    "eps-inside-sqrt": ("""
        import numpy as np

        def rmsprop(w, dw, cache, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8):
            cache = decay_rate * cache + (1 - decay_rate) * dw ** 2
            return w - learning_rate * dw / np.sqrt(cache + epsilon), cache
    """, mistake("eps-inside-sqrt")),
    "adagrad-cache": ("""
        import numpy as np

        def rmsprop(w, dw, cache, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8):
            cache = cache + dw ** 2
            return w - learning_rate * dw / (np.sqrt(cache) + epsilon), cache
    """, mistake("adagrad-cache")),
    "decay-swapped": ("""
        import numpy as np

        def rmsprop(w, dw, cache, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8):
            cache = (1 - decay_rate) * cache + decay_rate * dw ** 2
            return w - learning_rate * dw / (np.sqrt(cache) + epsilon), cache
    """, mistake("decay-swapped")),
    "old-cache": ("""
        import numpy as np

        def rmsprop(w, dw, cache, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8):
            next_w = w - learning_rate * dw / (np.sqrt(cache) + epsilon)
            cache = decay_rate * cache + (1 - decay_rate) * dw ** 2
            return next_w, cache
    """, mistake("old-cache")),
    "no-sqrt": ("""
        def rmsprop(w, dw, cache, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8):
            cache = decay_rate * cache + (1 - decay_rate) * dw * dw
            return w - learning_rate * dw / (cache + epsilon), cache
    """, mistake("no-sqrt")),
    "returns-config-dict": ("""
        import numpy as np

        def rmsprop(w, dw, cache, learning_rate=1e-2, decay_rate=0.99, epsilon=1e-8):
            config = {"learning_rate": learning_rate, "decay_rate": decay_rate, "epsilon": epsilon}
            config["cache"] = decay_rate * cache + (1 - decay_rate) * dw ** 2
            next_w = w - learning_rate * dw / (np.sqrt(config["cache"]) + epsilon)
            return next_w, config
    """, message("output[1] should be a numpy.ndarray, got a dict")),
}

# ---------------------------------------------------------------- adam-numpy

CORRECT["adam-numpy"] = {
    "cs231n-order": """
        import numpy as np

        def adam(w, dw, m, v, t, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8):
            t += 1
            m = beta1 * m + (1 - beta1) * dw
            v = beta2 * v + (1 - beta2) * (dw ** 2)
            mt = m / (1 - beta1 ** t)
            vt = v / (1 - beta2 ** t)
            next_w = w - learning_rate * mt / (np.sqrt(vt) + epsilon)
            return next_w, m, v, t
    """,
    "folded-step-size": """
        import numpy as np

        def adam(w, dw, m, v, t, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8):
            step = t + 1
            m_new = beta1 * m + (1 - beta1) * dw
            v_new = beta2 * v + (1 - beta2) * dw * dw
            v_hat = v_new / (1 - beta2 ** step)
            alpha = learning_rate / (1 - beta1 ** step)
            return w - alpha * m_new / (np.sqrt(v_hat) + epsilon), m_new, v_new, step
    """,
    "config-dict-in-place": """
        import numpy as np

        def adam(w, dw, m, v, t, **kwargs):
            config = dict(learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8, m=m, v=v, t=t)
            config.update(kwargs)
            b1, b2 = config["beta1"], config["beta2"]
            config["t"] += 1
            config["m"] *= b1
            config["m"] += (1 - b1) * dw
            config["v"] *= b2
            config["v"] += (1 - b2) * dw ** 2
            m_hat = config["m"] / (1 - b1 ** config["t"])
            v_hat = config["v"] / (1 - b2 ** config["t"])
            w -= config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
            return w, config["m"], config["v"], config["t"]
    """,
    "t-as-numpy-int": """
        import numpy as np

        def adam(w, dw, m, v, t, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8):
            t = t + 1
            m = beta1 * m + (1 - beta1) * dw
            v = beta2 * v + (1 - beta2) * dw ** 2
            m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
            next_w = w - learning_rate * m_hat / (np.sqrt(v_hat) + epsilon)
            return next_w, m, v, np.int64(t)  # a NumPy int is an int (issue 12)
    """,
}
WRONG["adam-numpy"] = {
    "t-not-incremented-first": ("""
        import numpy as np

        def adam(w, dw, m, v, t, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8):
            m = beta1 * m + (1 - beta1) * dw
            v = beta2 * v + (1 - beta2) * dw ** 2
            m_hat = m / (1 - beta1 ** t)
            v_hat = v / (1 - beta2 ** t)
            next_w = w - learning_rate * m_hat / (np.sqrt(v_hat) + epsilon)
            return next_w, m, v, t + 1
    """, mistake("t-not-incremented-first")),
    "t-not-returned": ("""
        import numpy as np

        def adam(w, dw, m, v, t, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8):
            m = beta1 * m + (1 - beta1) * dw
            v = beta2 * v + (1 - beta2) * dw ** 2
            m_hat = m / (1 - beta1 ** (t + 1))
            v_hat = v / (1 - beta2 ** (t + 1))
            return w - learning_rate * m_hat / (np.sqrt(v_hat) + epsilon), m, v, t
    """, mistake("t-not-returned")),
    "no-bias-correction": ("""
        import numpy as np

        def adam(w, dw, m, v, t, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8):
            m = beta1 * m + (1 - beta1) * dw
            v = beta2 * v + (1 - beta2) * dw ** 2
            return w - learning_rate * m / (np.sqrt(v) + epsilon), m, v, t + 1
    """, mistake("no-bias-correction")),
    "eps-inside-sqrt": ("""
        import numpy as np

        def adam(w, dw, m, v, t, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8):
            t = t + 1
            m = beta1 * m + (1 - beta1) * dw
            v = beta2 * v + (1 - beta2) * dw ** 2
            m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
            return w - learning_rate * m_hat / np.sqrt(v_hat + epsilon), m, v, t
    """, mistake("eps-inside-sqrt")),
    "returns-w-and-config": ("""
        import numpy as np

        def adam(w, dw, m, v, t, learning_rate=1e-3, beta1=0.9, beta2=0.999, epsilon=1e-8):
            t = t + 1
            m = beta1 * m + (1 - beta1) * dw
            v = beta2 * v + (1 - beta2) * dw ** 2
            m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
            next_w = w - learning_rate * m_hat / (np.sqrt(v_hat) + epsilon)
            return next_w, {"m": m, "v": v, "t": t}
    """, message("output has 2 items, expected 4 items")),
}


# ---------------------------------------------------------------- the tests

def _cases(table):
    return [pytest.param(problem, label, id=f"{problem}:{label}")
            for problem, variants in table.items() for label in variants]


@pytest.mark.parametrize("problem, label", _cases(CORRECT))
def test_correct_formulation_gets_full_marks(grade_source, problem, label):
    result = grade_source(problem, CORRECT[problem][label])
    failed = [(t.name, t.output) for t in result.tests if not t.passed]
    assert result.error is None, result.error
    assert not failed, failed
    assert result.score == result.max_score


@pytest.mark.parametrize("problem, label", _cases(WRONG))
def test_wrong_submission_loses_marks_with_named_feedback(grade_source, problem, label):
    source, (kind, expected) = WRONG[problem][label]
    result = grade_source(problem, source)
    assert result.error is None, result.error
    assert result.score < result.max_score
    failed = [t for t in result.tests if not t.passed]
    if kind == "mistake":
        named = [t for t in failed if t.mistake == expected]
        assert named, [(t.name, t.mistake, t.output) for t in failed]
        assert all(t.mistake in (None, expected) for t in failed), [(t.name, t.mistake) for t in failed]
        assert any(f"known mistake ({expected})" in t.output for t in named)
        assert any(t.name and not t.visible for t in named), "the mistake must fail a hidden case"
    else:
        assert any(expected in t.output for t in failed), [(t.name, t.output) for t in failed]
