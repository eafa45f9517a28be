"""A student's MultiHeadAttention: reshape and transpose, a helper to split heads."""
import math

import torch
import torch.nn as nn


class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        assert embed_dim % num_heads == 0
        self.key = nn.Linear(embed_dim, embed_dim)      # registered in another order: names are what count
        self.query = nn.Linear(embed_dim, embed_dim)
        self.value = nn.Linear(embed_dim, embed_dim)
        self.proj = nn.Linear(embed_dim, embed_dim)
        self.n_head = num_heads
        self.head_dim = embed_dim // num_heads

    def split(self, x):
        N, L, E = x.shape
        return x.reshape(N, L, self.n_head, self.head_dim).permute(0, 2, 1, 3)

    def forward(self, query, key, value, attn_mask=None):
        N, S, E = query.shape
        q, k, v = self.split(self.query(query)), self.split(self.key(key)), self.split(self.value(value))
        att = torch.matmul(q, k.transpose(2, 3)) / math.sqrt(self.head_dim)
        if attn_mask is not None:
            att = att.masked_fill(attn_mask == False, -math.inf)  # noqa: E712
        att = torch.softmax(att, dim=3)
        y = torch.matmul(att, v).permute(0, 2, 1, 3).contiguous().view(N, S, E)
        return self.proj(y)
