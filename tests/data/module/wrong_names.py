import math

import torch
from torch import nn


class MultiHeadAttention(nn.Module):
    """Right maths, but the projections are named as in nanoGPT: q_proj, k_proj, v_proj, out_proj."""

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.q_proj = nn.Linear(embed_dim, embed_dim)
        self.k_proj = nn.Linear(embed_dim, embed_dim)
        self.v_proj = nn.Linear(embed_dim, embed_dim, bias=False)
        self.out_proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, query, key, value, attn_mask=None):
        N, S, E = query.shape
        H = self.num_heads
        q = self.q_proj(query).view(N, S, H, -1).transpose(1, 2)
        k = self.k_proj(key).view(N, -1, H, E // H).transpose(1, 2)
        v = self.v_proj(value).view(N, -1, H, E // H).transpose(1, 2)
        scores = q @ k.transpose(-2, -1) / math.sqrt(E // H)
        if attn_mask is not None:
            scores = scores.masked_fill(~attn_mask, float("-inf"))
        return self.out_proj((scores.softmax(-1) @ v).transpose(1, 2).reshape(N, S, E))
