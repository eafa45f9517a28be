"""Correct but slow solutions, written the way a student new to tensors might.

Each one gives the reference's answer with Python loops where whole-tensor operations belong.
A problem's speed test names one as `performance.slow`, and `grader validate` checks that it
fails the test: the proof that the speed test tells loops from vectorised code.
"""
import math

import torch


def attention_loops(q, k, v, mask=None):
    """softmax(q k^T / sqrt(d_k)) v, one query-key score at a time.

    Loops over queries i and keys j (vectorised over the batch only):
        s_ij = q_i · k_j / sqrt(d_k),  w_i = softmax_j(s_i),  out_i = Σ_j w_ij v_j
    """
    d_k = q.shape[-1]
    n_q, n_k = q.shape[-2], k.shape[-2]
    out = torch.empty(*q.shape[:-1], v.shape[-1], dtype=q.dtype, device=q.device)
    for i in range(n_q):
        scores = torch.empty(*q.shape[:-2], n_k, dtype=q.dtype, device=q.device)
        for j in range(n_k):
            scores[..., j] = (q[..., i, :] * k[..., j, :]).sum(-1) / math.sqrt(d_k)
        if mask is not None:
            row = mask[..., i, :] if mask.dim() >= 2 and mask.shape[-2] == n_q else mask[..., 0, :]
            scores = scores.masked_fill(~row, float("-inf"))
        weights = torch.softmax(scores, dim=-1)
        out[..., i, :] = (weights.unsqueeze(-1) * v).sum(-2)
    return out
