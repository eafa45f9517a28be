import torch
import torch.nn.functional as F
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

        def heads(x):
            return x.view(N, -1, H, E // H).transpose(1, 2)

        out = F.scaled_dot_product_attention(heads(self.query(query)), heads(self.key(key)),
                                             heads(self.value(value)), attn_mask=attn_mask)
        return self.proj(out.transpose(1, 2).reshape(N, S, E))
