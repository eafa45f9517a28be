"""Scaled dot-product attention (course notes 002, 004; Vaswani et al. 2017)."""
import math

import torch


def attention(q, k, v, mask=None):
    """softmax(q k^T / sqrt(d_k)) v

    q: (..., Lq, d), k: (..., Lk, d), v: (..., Lk, dv)
    mask: bool, broadcastable to (..., Lq, Lk), True where the query may attend to the key.
    Returns (..., Lq, dv).
    """
    d_k = q.shape[-1]
    scores = q @ k.transpose(-2, -1) / math.sqrt(d_k)          # (..., Lq, Lk)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))      # masked keys get weight 0
    weights = torch.softmax(scores, dim=-1)                    # each query's weights sum to 1
    return weights @ v                                         # (..., Lq, dv)
