"""Reference classes for kind `module` problems: the student writes the class, the grader sets its
weights and compares outputs and gradients (grader/kinds/module.py)."""
import math

import torch
from torch import nn


class MultiHeadAttention(nn.Module):
    """Multi-head attention with input and output projections (Vaswani et al. 2017, section 3.2.2;
    the layout of CS231n's assignment 3 `MultiHeadAttention`).

    q = query W_q + b_q, k = key W_k + b_k, v = value W_v + b_v          (nn.Linear, E -> E)
    head h uses features [h*E/H, (h+1)*E/H) of q, k and v
    head_h = softmax(q_h k_hᵀ / √(E/H)) v_h      (masked scores -inf before the softmax over keys)
    out = proj(concat(head_0, ..., head_{H-1}))                        (N, S, E)

    query: (N, S, E), key and value: (N, T, E), attn_mask: None or bool (S, T), True = may attend.
    """

    def __init__(self, embed_dim, num_heads):
        super().__init__()
        assert embed_dim % num_heads == 0
        self.num_heads = num_heads
        self.query = nn.Linear(embed_dim, embed_dim)
        self.key = nn.Linear(embed_dim, embed_dim)
        self.value = nn.Linear(embed_dim, embed_dim)
        self.proj = nn.Linear(embed_dim, embed_dim)

    def forward(self, query, key, value, attn_mask=None):
        N, S, E = query.shape
        T = key.shape[1]
        H = self.num_heads
        D = E // H
        q = self.query(query).view(N, S, H, D).transpose(1, 2)      # (N, H, S, D)
        k = self.key(key).view(N, T, H, D).transpose(1, 2)          # (N, H, T, D)
        v = self.value(value).view(N, T, H, D).transpose(1, 2)      # (N, H, T, D)
        scores = q @ k.transpose(-2, -1) / math.sqrt(D)             # (N, H, S, T)
        if attn_mask is not None:
            scores = scores.masked_fill(~attn_mask, float("-inf"))  # (S, T) broadcasts over N and H
        weights = torch.softmax(scores, dim=-1)                     # over the keys
        heads = weights @ v                                         # (N, H, S, D)
        return self.proj(heads.transpose(1, 2).reshape(N, S, E))    # (N, S, E), head h in its features


class TwoLayerNet:
    """A two-layer fully connected net with a softmax loss, as a plain NumPy class (CS231n
    assignment 2, fc_net.py): affine - ReLU - affine - softmax, parameters in self.params.

    hidden = max(0, X W1 + b1)                                      (N, H)
    scores = hidden W2 + b2                                         (N, C)
    loss = mean_i -log softmax(scores_i)[y_i] + reg/2 (|W1|² + |W2|²)
    grads by the chain rule: dscores = (softmax(scores) - onehot(y)) / N, back through W2,
    the ReLU (zero where hidden <= 0) and W1, each W also getting reg * W.
    """

    def __init__(self, input_dim=3 * 32 * 32, hidden_dim=100, num_classes=10, weight_scale=1e-3, reg=0.0):
        import numpy as np

        self.reg = reg
        self.params = {"W1": weight_scale * np.random.randn(input_dim, hidden_dim), "b1": np.zeros(hidden_dim),
                       "W2": weight_scale * np.random.randn(hidden_dim, num_classes), "b2": np.zeros(num_classes)}

    def loss(self, X, y=None):
        import numpy as np

        W1, b1, W2, b2 = (self.params[k] for k in ("W1", "b1", "W2", "b2"))
        hidden = np.maximum(0, X @ W1 + b1)                               # (N, H)
        scores = hidden @ W2 + b2                                         # (N, C)
        if y is None:
            return scores
        N = X.shape[0]
        shifted = scores - scores.max(axis=1, keepdims=True)
        probs = np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)   # (N, C)
        loss = -np.log(probs[np.arange(N), y]).mean() + 0.5 * self.reg * (np.sum(W1 * W1) + np.sum(W2 * W2))
        dscores = probs.copy()
        dscores[np.arange(N), y] -= 1
        dscores /= N                                                      # (N, C)
        dhidden = dscores @ W2.T                                          # (N, H)
        dhidden[hidden <= 0] = 0                                          # through the ReLU
        grads = {"W1": X.T @ dhidden + self.reg * W1, "b1": dhidden.sum(axis=0),
                 "W2": hidden.T @ dscores + self.reg * W2, "b2": dscores.sum(axis=0)}
        return loss, grads
