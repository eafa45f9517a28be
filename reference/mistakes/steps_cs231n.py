"""Wrong CS231n layers and update rules (CS231n signatures), for the `steps` problems."""
import numpy as np

from reference import steps_cs231n as right


# ---------------------------------------------------------------- affine layer


def affine_backward_dx_not_reshaped(dout, cache):
    """dx left as (N, D) instead of x's shape."""
    x, w, b = cache
    dx, dw, db = right.affine_backward(dout, cache)
    return dx.reshape(x.shape[0], -1), dw, db


def affine_backward_db_mean(dout, cache):
    """db averaged over the batch instead of summed."""
    dx, dw, db = right.affine_backward(dout, cache)
    return dx, dw, dout.mean(axis=0)


def affine_backward_dw_transposed(dout, cache):
    """dw = dout.T @ x2: (M, D) instead of (D, M)."""
    x, w, b = cache
    dx, dw, db = right.affine_backward(dout, cache)
    return dx, dw.T, db


def affine_forward_no_bias(x, w, b):
    """Forgets the bias (the cache is the right one)."""
    out, cache = right.affine_forward(x, w, b)
    return out - b, cache


# ---------------------------------------------------------------- adam


def _adam_config(w, config):
    config = {} if config is None else config
    for key, value in (("learning_rate", 1e-3), ("beta1", 0.9), ("beta2", 0.999), ("epsilon", 1e-8), ("t", 0)):
        config.setdefault(key, value)
    config.setdefault("m", np.zeros_like(w))
    config.setdefault("v", np.zeros_like(w))
    return config


def adam_no_bias_correction(w, dw, config=None):
    """Uses m and v without dividing by (1 - beta^t)."""
    config = _adam_config(w, config)
    config["t"] += 1
    config["m"] = config["beta1"] * config["m"] + (1 - config["beta1"]) * dw
    config["v"] = config["beta2"] * config["v"] + (1 - config["beta2"]) * dw ** 2
    return w - config["learning_rate"] * config["m"] / (np.sqrt(config["v"]) + config["epsilon"]), config


def adam_state_not_stored(w, dw, config=None):
    """Computes m, v and t in local variables and never stores them back into config."""
    config = _adam_config(w, config)
    t = config["t"] + 1
    m = config["beta1"] * config["m"] + (1 - config["beta1"]) * dw
    v = config["beta2"] * config["v"] + (1 - config["beta2"]) * dw ** 2
    m_hat, v_hat = m / (1 - config["beta1"] ** t), v / (1 - config["beta2"] ** t)
    return w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"]), config


def adam_t_after_correction(w, dw, config=None):
    """Bias-corrects with the old t and increments it afterwards (the first step divides by zero)."""
    config = _adam_config(w, config)
    b1, b2, t = config["beta1"], config["beta2"], config["t"]
    config["m"] = b1 * config["m"] + (1 - b1) * dw
    config["v"] = b2 * config["v"] + (1 - b2) * dw ** 2
    with np.errstate(divide="ignore", invalid="ignore"):
        m_hat, v_hat = config["m"] / (1 - b1 ** t), config["v"] / (1 - b2 ** t)
        next_w = w - config["learning_rate"] * m_hat / (np.sqrt(v_hat) + config["epsilon"])
    config["t"] = t + 1
    return next_w, config


def adam_eps_inside_sqrt(w, dw, config=None):
    """Divides by sqrt(v_hat + epsilon) instead of sqrt(v_hat) + epsilon."""
    config = _adam_config(w, config)
    b1, b2 = config["beta1"], config["beta2"]
    config["t"] += 1
    config["m"] = b1 * config["m"] + (1 - b1) * dw
    config["v"] = b2 * config["v"] + (1 - b2) * dw ** 2
    m_hat, v_hat = config["m"] / (1 - b1 ** config["t"]), config["v"] / (1 - b2 ** config["t"])
    return w - config["learning_rate"] * m_hat / np.sqrt(v_hat + config["epsilon"]), config


# ---------------------------------------------------------------- batch norm


def batchnorm_forward_test_batch_stats(x, gamma, beta, bn_param):
    """Test mode normalises with the batch's own statistics instead of the running ones."""
    if bn_param["mode"] == "test":
        eps = bn_param.get("eps", 1e-5)
        return gamma * (x - x.mean(axis=0)) / np.sqrt(x.var(axis=0) + eps) + beta, None
    return right.batchnorm_forward(x, gamma, beta, bn_param)


def batchnorm_forward_running_not_stored(x, gamma, beta, bn_param):
    """Updates the running statistics in local variables only: bn_param never gets them."""
    kept = dict(bn_param)
    out, cache = right.batchnorm_forward(x, gamma, beta, kept)
    bn_param["mode"] = kept["mode"]
    return out, cache


def batchnorm_forward_momentum_swapped(x, gamma, beta, bn_param):
    """running = (1 - momentum) * running + momentum * batch statistic."""
    flipped = {**bn_param, "momentum": 1 - bn_param.get("momentum", 0.9)}
    out, cache = right.batchnorm_forward(x, gamma, beta, flipped)
    bn_param["running_mean"], bn_param["running_var"] = flipped["running_mean"], flipped["running_var"]
    return out, cache


def batchnorm_backward_no_mean_terms(dout, cache):
    """dx = dout * gamma / std: forgets that the mean and variance depend on x."""
    x_hat, gamma, std = cache
    return dout * gamma / std, (dout * x_hat).sum(axis=0), dout.sum(axis=0)
