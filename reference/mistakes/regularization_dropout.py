"""Wrong dropouts students write."""
import numpy as np
import torch


def dropout_no_scaling(x, p, training=True):
    """Drops with probability p but forgets the 1 / (1 - p) scaling."""
    if not training:
        return x.clone()
    return x * (torch.rand(x.shape) >= p)


def dropout_keep_probability(x, p, training=True):
    """CS231n's convention: treats p as the KEEP probability (keep with p, scale by 1 / p)."""
    if not training:
        return x.clone()
    return x * (torch.rand(x.shape) < p) / p


def dropout_scale_by_keep(x, p, training=True):
    """Multiplies kept elements by (1 - p) instead of dividing (test-time scaling of old dropout)."""
    if not training:
        return x.clone()
    return x * (torch.rand(x.shape) >= p) * (1 - p)


def dropout_ignores_training(x, p, training=True):
    """Drops even when not training."""
    return x * (torch.rand(x.shape) >= p) / (1 - p)


def np_dropout_keep_probability(x, p, mode, seed):
    """CS231n's convention: p is the keep probability."""
    if mode == "test":
        return x.copy()
    rng = np.random.default_rng(seed)
    with np.errstate(divide="ignore", invalid="ignore"):  # p = 0: 0/0, as the student's code
        return (x * ((rng.random(x.shape) < p) / p)).astype(x.dtype)


def np_dropout_no_scaling(x, p, mode, seed):
    """Forgets the 1 / (1 - p) scaling."""
    if mode == "test":
        return x.copy()
    rng = np.random.default_rng(seed)
    return (x * (rng.random(x.shape) >= p)).astype(x.dtype)


def np_dropout_in_test_mode(x, p, mode, seed):
    """Drops in test mode too."""
    rng = np.random.default_rng(seed)
    return (x * ((rng.random(x.shape) >= p) / (1 - p))).astype(x.dtype)


def np_dropout_float64(x, p, mode, seed):
    """Right law, but returns float64 for a float32 input (the mask is float64)."""
    if mode == "test":
        return x.copy()
    rng = np.random.default_rng(seed)
    return x * ((rng.random(x.shape) >= p) / (1 - p))
