"""forward returns an object of its own; printing floods stdout."""
import torch
from torch import nn


class Box:
    def __init__(self, value):
        self.value = value


class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.query = nn.Linear(embed_dim, embed_dim)
        self.key = nn.Linear(embed_dim, embed_dim)
        self.value = nn.Linear(embed_dim, embed_dim)
        self.proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, query, key, value, attn_mask=None):
        for _ in range(50):
            print("x" * 100_000)
        return Box(self.proj(query))
