"""The module lies about its parameters: parameters(), named_parameters() and state_dict() show the
contract's names, but forward uses weights of its own, and the real parameters are named otherwise."""
import math
from collections import OrderedDict

import torch
from torch import nn

NAMES = ["query", "key", "value", "proj"]


class MultiHeadAttention(nn.Module):
    def __init__(self, embed_dim, num_heads):
        super().__init__()
        self.num_heads = num_heads
        self.layers = nn.ModuleList(nn.Linear(embed_dim, embed_dim) for _ in NAMES)
        self.fake = {n: nn.Linear(embed_dim, embed_dim) for n in NAMES}  # not registered

    def named_parameters(self, *args, **kwargs):
        for n in NAMES:
            yield f"{n}.weight", self.fake[n].weight
            yield f"{n}.bias", self.fake[n].bias

    def parameters(self, *args, **kwargs):
        return (p for _, p in self.named_parameters())

    def state_dict(self, *args, **kwargs):
        return OrderedDict(self.named_parameters())

    def load_state_dict(self, *args, **kwargs):
        return None

    def forward(self, query, key, value, attn_mask=None):
        N, S, E = query.shape
        H, D = self.num_heads, E // self.num_heads
        lq, lk, lv, lo = self.layers
        q = lq(query).view(N, S, H, D).transpose(1, 2)
        k = lk(key).view(N, -1, H, D).transpose(1, 2)
        v = lv(value).view(N, -1, H, D).transpose(1, 2)
        scores = q @ k.transpose(-2, -1) / math.sqrt(D)
        if attn_mask is not None:
            scores = scores.masked_fill(~attn_mask, float("-inf"))
        return lo((scores.softmax(-1) @ v).transpose(1, 2).reshape(N, S, E))
