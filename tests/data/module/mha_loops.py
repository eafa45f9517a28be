import math

import torch
from torch import nn


class MultiHeadAttention(nn.Module):
    """One head at a time, as a loop over feature blocks."""

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.embed_dim = embed_dim
        self.num_heads = num_heads
        self.query = nn.Linear(embed_dim, embed_dim)
        self.key = nn.Linear(embed_dim, embed_dim)
        self.value = nn.Linear(embed_dim, embed_dim)
        self.proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, query, key, value, attn_mask=None):
        Q, K, V = self.query(query), self.key(key), self.value(value)
        d = self.embed_dim // self.num_heads
        outputs = []
        for h in range(self.num_heads):
            q = Q[:, :, h * d:(h + 1) * d]
            k = K[:, :, h * d:(h + 1) * d]
            v = V[:, :, h * d:(h + 1) * d]
            scores = q @ k.transpose(1, 2) / math.sqrt(d)
            if attn_mask is not None:
                scores = scores.masked_fill(attn_mask.logical_not(), float("-inf"))
            outputs.append(torch.softmax(scores, dim=-1) @ v)
        return self.proj(torch.cat(outputs, dim=-1))
