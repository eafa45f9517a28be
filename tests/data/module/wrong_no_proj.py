import torch
from torch import nn


class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.h = num_heads
        self.query = nn.Linear(embed_dim, embed_dim)
        self.key = nn.Linear(embed_dim, embed_dim)
        self.value = nn.Linear(embed_dim, embed_dim)
        self.proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, query, key, value, attn_mask=None):
        N, S, E = query.shape
        T = key.shape[1]
        d = E // self.h
        q = self.query(query).view(N, S, self.h, d)
        k = self.key(key).view(N, T, self.h, d)
        v = self.value(value).view(N, T, self.h, d)
        scores = torch.einsum("nshd,nthd->nhst", q, k) / d ** 0.5
        if attn_mask is not None:
            scores = scores.masked_fill(~attn_mask, float("-inf"))
        return torch.einsum("nhst,nthd->nshd", scores.softmax(-1), v).reshape(N, S, E)
