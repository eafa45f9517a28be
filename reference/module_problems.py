"""Reference classes for kind `module` problems: the student writes the class, the grader sets its
weights and compares outputs and gradients (grader/kinds/module.py)."""
import math

import torch
from torch import nn


class MultiHeadAttention(nn.Module):
    """Multi-head attention with input and output projections (Vaswani et al. 2017, section 3.2.2;
    the layout of CS231n's assignment 3 `MultiHeadAttention`).

    q = query W_q + b_q, k = key W_k + b_k, v = value W_v + b_v          (nn.Linear, E -> E)
    head h uses features [h*E/H, (h+1)*E/H) of q, k and v
    head_h = softmax(q_h k_hᵀ / √(E/H)) v_h      (masked scores -inf before the softmax over keys)
    out = proj(concat(head_0, ..., head_{H-1}))                        (N, S, E)

    query: (N, S, E), key and value: (N, T, E), attn_mask: None or bool (S, T), True = may attend.
    """

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        assert embed_dim % num_heads == 0
        self.num_heads = num_heads
        self.query = nn.Linear(embed_dim, embed_dim)
        self.key = nn.Linear(embed_dim, embed_dim)
        self.value = nn.Linear(embed_dim, embed_dim)
        self.proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, query, key, value, attn_mask=None):
        N, S, E = query.shape
        T = key.shape[1]
        H = self.num_heads
        D = E // H
        q = self.query(query).view(N, S, H, D).transpose(1, 2)      # (N, H, S, D)
        k = self.key(key).view(N, T, H, D).transpose(1, 2)          # (N, H, T, D)
        v = self.value(value).view(N, T, H, D).transpose(1, 2)      # (N, H, T, D)
        scores = q @ k.transpose(-2, -1) / math.sqrt(D)             # (N, H, S, T)
        if attn_mask is not None:
            scores = scores.masked_fill(~attn_mask, float("-inf"))  # (S, T) broadcasts over N and H
        weights = torch.softmax(scores, dim=-1)                     # over the keys
        heads = weights @ v                                         # (N, H, S, D)
        return self.proj(heads.transpose(1, 2).reshape(N, S, E))    # (N, S, E), head h in its features
