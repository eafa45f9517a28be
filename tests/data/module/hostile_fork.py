"""forward forks: the forked copy sleeps (bounded), then leaves; the parent returns the right output."""
import math
import os
import time

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
        if os.fork() == 0:
            try:
                with open("/proc/self/comm", "w") as comm:  # a name the test looks for afterwards
                    comm.write("grader-mha-fork")
            except OSError:
                pass
            time.sleep(60)
            os._exit(0)
        N, S, E = query.shape
        H, D = self.num_heads, E // self.num_heads
        q = self.query(query).view(N, S, H, D).transpose(1, 2)
        k = self.key(key).view(N, -1, H, D).transpose(1, 2)
        v = self.value(value).view(N, -1, H, D).transpose(1, 2)
        scores = q @ k.transpose(-2, -1) / math.sqrt(D)
        if attn_mask is not None:
            scores = scores.masked_fill(~attn_mask, float("-inf"))
        return self.proj((scores.softmax(-1) @ v).transpose(1, 2).reshape(N, S, E))
