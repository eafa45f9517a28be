import math

import torch
from torch import nn


class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.query = nn.Linear(embed_dim, embed_dim)
        self.key = nn.Linear(embed_dim, embed_dim)
        self.value = nn.Linear(embed_dim, embed_dim)
        self.proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, query, key, value, attn_mask=None):
        N, S, E = query.shape
        H = self.num_heads
        q = torch.stack(self.query(query).chunk(H, dim=-1), dim=1)   # (N, H, S, E/H)
        k = torch.stack(self.key(key).chunk(H, dim=-1), dim=1)
        v = torch.stack(self.value(value).chunk(H, dim=-1), dim=1)
        scores = q @ k.transpose(-1, -2) / math.sqrt(E)  # the whole width
        if attn_mask is not None:
            scores = scores.masked_fill(~attn_mask, float("-inf"))
        out = torch.cat((scores.softmax(-1) @ v).unbind(1), dim=-1)
        return self.proj(out)
