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
        T = key.shape[1]
        H = self.num_heads
        q = self.query(query).view(N, H, S, E // H)   # heads split the wrong way: no transpose
        k = self.key(key).view(N, H, T, E // H)
        v = self.value(value).view(N, H, T, E // H)
        scores = q @ k.transpose(2, 3) / math.sqrt(E // H)
        if attn_mask is not None:
            scores = scores.masked_fill(~attn_mask, float("-inf"))
        return self.proj((scores.softmax(-1) @ v).reshape(N, S, E))
