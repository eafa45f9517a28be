"""CS231n layers and update rules with CS231n's own signatures, for the `steps` kind.

The forward passes return (out, cache); each backward takes the cache its forward made. The
grader calls the student's forward, keeps their cache in their process, and hands it to their
backward, so any cache layout works (a tuple, a dict, ...).
"""
import numpy as np


def affine_forward(x, w, b):
    """out = x.reshape(N, D) @ w + b, x of shape (N, d_1, ..., d_k), w (D, M), b (M,)."""
    out = x.reshape(x.shape[0], -1) @ w + b  # (N, M)
    return out, (x, w, b)


def affine_backward(dout, cache):
    """dx = dout @ w.T reshaped to x's shape, dw = x2.T @ dout, db = dout summed over the batch."""
    x, w, b = cache
    x2 = x.reshape(x.shape[0], -1)  # (N, D)
    dx = (dout @ w.T).reshape(x.shape)
    dw = x2.T @ dout  # (D, M)
    db = dout.sum(axis=0)  # (M,)
    return dx, dw, db


def batchnorm_forward(x, gamma, beta, bn_param):
    """Batch norm (Ioffe & Szegedy 2015) on x (N, D); running statistics kept in bn_param.

    train: x_hat = (x - mean) / sqrt(var + eps) with the batch mean and biased variance, and
    running = momentum * running + (1 - momentum) * batch statistic, stored back in bn_param;
    test: the running statistics normalise."""
    mode = bn_param["mode"]
    eps = bn_param.get("eps", 1e-5)
    momentum = bn_param.get("momentum", 0.9)
    D = x.shape[1]
    running_mean = bn_param.get("running_mean", np.zeros(D, dtype=x.dtype))
    running_var = bn_param.get("running_var", np.zeros(D, dtype=x.dtype))
    if mode == "train":
        mean = x.mean(axis=0)  # (D,)
        var = x.var(axis=0)  # (D,), biased
        std = np.sqrt(var + eps)
        x_hat = (x - mean) / std
        out = gamma * x_hat + beta
        cache = (x_hat, gamma, std)
        running_mean = momentum * running_mean + (1 - momentum) * mean
        running_var = momentum * running_var + (1 - momentum) * var
    elif mode == "test":
        out = gamma * (x - running_mean) / np.sqrt(running_var + eps) + beta
        cache = None
    else:
        raise ValueError(f'Invalid forward batchnorm mode "{mode}"')
    bn_param["running_mean"] = running_mean
    bn_param["running_var"] = running_var
    return out, cache


def batchnorm_backward(dout, cache):
    """dgamma = sum(dout * x_hat), dbeta = sum(dout), and the simplified dx:
    dx = gamma / (N std) * (N dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat)), dx_hat = dout * gamma."""
    x_hat, gamma, std = cache
    N = dout.shape[0]
    dbeta = dout.sum(axis=0)
    dgamma = (dout * x_hat).sum(axis=0)
    dx_hat = dout * gamma
    dx = (N * dx_hat - dx_hat.sum(axis=0) - x_hat * (dx_hat * x_hat).sum(axis=0)) / (N * std)
    return dx, dgamma, dbeta


def adam(w, dw, config=None):
    """Adam (Kingma & Ba 2015), CS231n's form: t is incremented before the bias correction.

    config: learning_rate (1e-3), beta1 (0.9), beta2 (0.999), epsilon (1e-8), m and v (zeros
    like w), t (0); returns (next_w, config) with m, v and t updated."""
    if config is None:
        config = {}
    config.setdefault("learning_rate", 1e-3)
    config.setdefault("beta1", 0.9)
    config.setdefault("beta2", 0.999)
    config.setdefault("epsilon", 1e-8)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    config.setdefault("t", 0)
    b1, b2 = config["beta1"], config["beta2"]
    config["t"] += 1
    config["m"] = b1 * config["m"] + (1 - b1) * dw
    config["v"] = b2 * config["v"] + (1 - b2) * dw ** 2
    m_hat = config["m"] / (1 - b1 ** config["t"])
    v_hat = config["v"] / (1 - b2 ** config["t"])
    next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
    return next_w, config
