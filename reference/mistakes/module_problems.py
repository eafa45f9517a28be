"""Known wrong classes for kind `module` problems: each keeps the reference's parameters and gets
one thing wrong, as students do."""
import math

import numpy as np
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


from reference.module_problems import TwoLayerNet  # noqa: E402 - the NumPy problem's mistakes below


def _forward(params, X):
    hidden = np.maximum(0, X @ params["W1"] + params["b1"])
    return hidden, hidden @ params["W2"] + params["b2"]


def _softmax(scores):
    shifted = scores - scores.max(axis=1, keepdims=True)
    return np.exp(shifted) / np.exp(shifted).sum(axis=1, keepdims=True)


def _two_layer_loss(net, X, y, *, average=True, mask=True, reg_grads=True):
    """TwoLayerNet.loss with one slip switched on."""
    p = net.params
    hidden, scores = _forward(p, X)
    if y is None:
        return scores
    N = X.shape[0]
    probs = _softmax(scores)
    data = -np.log(probs[np.arange(N), y])
    loss = (data.mean() if average else data.sum()) + 0.5 * net.reg * (np.sum(p["W1"] ** 2) + np.sum(p["W2"] ** 2))
    dscores = probs.copy()
    dscores[np.arange(N), y] -= 1
    if average:
        dscores /= N
    dhidden = dscores @ p["W2"].T
    if mask:
        dhidden[hidden <= 0] = 0
    reg = net.reg if reg_grads else 0.0
    return loss, {"W1": X.T @ dhidden + reg * p["W1"], "b1": dhidden.sum(axis=0),
                  "W2": hidden.T @ dscores + reg * p["W2"], "b2": dscores.sum(axis=0)}


class TwoLayerNetSummedLoss(TwoLayerNet):
    """The data loss and its gradient summed over the batch instead of averaged."""

    def loss(self, X, y=None):
        return _two_layer_loss(self, X, y, average=False)


class TwoLayerNetUnmaskedRelu(TwoLayerNet):
    """The ReLU's backward forgotten: the gradient flows where the hidden unit was off."""

    def loss(self, X, y=None):
        return _two_layer_loss(self, X, y, mask=False)


class TwoLayerNetNoRegGradient(TwoLayerNet):
    """The regularization added to the loss but not to the gradients of W1 and W2."""

    def loss(self, X, y=None):
        return _two_layer_loss(self, X, y, reg_grads=False)
