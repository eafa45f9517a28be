"""Wrong attentions students write."""
import math

import torch


def attention_no_scale(q, k, v, mask=None):
    """No 1/sqrt(d_k) scale (the attention section of notes 002)."""
    scores = q @ k.transpose(-2, -1)
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def attention_scale_by_d(q, k, v, mask=None):
    """Divides by d_k instead of sqrt(d_k)."""
    scores = q @ k.transpose(-2, -1) / q.shape[-1]
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def attention_mask_after_softmax(q, k, v, mask=None):
    """Zeroes the masked weights after the softmax, so the rest no longer sum to 1."""
    weights = torch.softmax(q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1]), dim=-1)
    if mask is not None:
        weights = weights * mask
    return weights @ v


def attention_wrong_axis(q, k, v, mask=None):
    """Softmax over the queries (dim -2) instead of the keys."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    return torch.nan_to_num(torch.softmax(scores, dim=-2)) @ v


def attention_mask_reversed(q, k, v, mask=None):
    """Mask polarity reversed: blocks the keys the query may attend to."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


def attention_naive_softmax(q, k, v, mask=None):
    """exp(scores) / sum(exp(scores)) without subtracting the maximum: overflows on large scores."""
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    e = torch.exp(scores)
    if mask is not None:
        e = e * mask
    return (e / e.sum(dim=-1, keepdim=True)) @ v
