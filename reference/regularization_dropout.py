"""Inverted dropout, in PyTorch and in NumPy (course notes 000, 003, 004)."""
import numpy as np
import torch


def inverted_dropout(x, p, training=True):
    """Inverted dropout (Srivastava et al. 2014; torch.nn.functional.dropout).

    In training, each element is kept with probability 1 - p and dropped (set to 0) with
    probability p, independently; kept elements are scaled by 1 / (1 - p) so that
    E[output] = x. Not training: x unchanged. p = 1 drops everything.
    """
    if not training or p == 0:
        return x.clone()
    if p == 1:
        return torch.zeros_like(x)
    keep = torch.rand(x.shape) >= p                    # True with probability 1 - p
    return x * keep / (1 - p)


def dropout_forward(x, p, mode, seed):
    """CS231n-style dropout forward in NumPy, with p the DROP probability.

    mode 'train': keep each element with probability 1 - p, scale kept ones by 1 / (1 - p);
    mode 'test': return x unchanged. seed: an int for np.random.default_rng.
    """
    if mode == "test" or p == 0:
        return x.copy()
    if p == 1:
        return np.zeros_like(x)
    rng = np.random.default_rng(seed)
    mask = (rng.random(x.shape) >= p) / (1 - p)
    return (x * mask).astype(x.dtype)
