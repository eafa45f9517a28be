"""Known wrong classes for kind `module` problems: each keeps the reference's parameters and gets
one thing wrong, as students do."""
import math

import torch

from reference.module_problems import MultiHeadAttention


def _attend(q, k, v, attn_mask, scale):
    """softmax(q kᵀ * scale) v over (N, H, ., D) heads, masked where attn_mask is False."""
    scores = q @ k.transpose(-2, -1) * scale
    if attn_mask is not None:
        scores = scores.masked_fill(~attn_mask, float("-inf"))
    return torch.softmax(scores, dim=-1) @ v


class MHAScaledByEmbedDim(MultiHeadAttention):
    """Scores divided by √E (the model width) instead of √(E/H)."""

    def forward(self, query, key, value, attn_mask=None):
        N, S, E = query.shape
        T = key.shape[1]
        H, D = self.num_heads, E // self.num_heads
        q = self.query(query).view(N, S, H, D).transpose(1, 2)
        k = self.key(key).view(N, T, H, D).transpose(1, 2)
        v = self.value(value).view(N, T, H, D).transpose(1, 2)
        heads = _attend(q, k, v, attn_mask, 1 / math.sqrt(E))
        return self.proj(heads.transpose(1, 2).reshape(N, S, E))


class MHANoOutputProjection(MultiHeadAttention):
    """The heads concatenated and returned: `proj` defined but never applied."""

    def forward(self, query, key, value, attn_mask=None):
        N, S, E = query.shape
        T = key.shape[1]
        H, D = self.num_heads, E // self.num_heads
        q = self.query(query).view(N, S, H, D).transpose(1, 2)
        k = self.key(key).view(N, T, H, D).transpose(1, 2)
        v = self.value(value).view(N, T, H, D).transpose(1, 2)
        heads = _attend(q, k, v, attn_mask, 1 / math.sqrt(D))
        return heads.transpose(1, 2).reshape(N, S, E)


class MHASplitWithoutTranspose(MultiHeadAttention):
    """(N, L, E) reshaped straight to (N, H, L, D): positions are mixed into heads."""

    def forward(self, query, key, value, attn_mask=None):
        N, S, E = query.shape
        T = key.shape[1]
        H, D = self.num_heads, E // self.num_heads
        q = self.query(query).reshape(N, H, S, D)
        k = self.key(key).reshape(N, H, T, D)
        v = self.value(value).reshape(N, H, T, D)
        heads = _attend(q, k, v, attn_mask, 1 / math.sqrt(D))
        return self.proj(heads.reshape(N, S, E))


class MHAInterleavedHeads(MultiHeadAttention):
    """Head h takes the strided features h, h + H, h + 2H, ... instead of a contiguous block."""

    def forward(self, query, key, value, attn_mask=None):
        N, S, E = query.shape
        T = key.shape[1]
        H, D = self.num_heads, E // self.num_heads
        q = self.query(query).view(N, S, D, H).permute(0, 3, 1, 2)   # (N, H, S, D), strided features
        k = self.key(key).view(N, T, D, H).permute(0, 3, 1, 2)
        v = self.value(value).view(N, T, D, H).permute(0, 3, 1, 2)
        heads = _attend(q, k, v, attn_mask, 1 / math.sqrt(D))
        return self.proj(heads.permute(0, 2, 3, 1).reshape(N, S, E))
