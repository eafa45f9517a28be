"""Alice: all five in one file."""
import math

import torch

def sigmoid_backward(x, grad_output):
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)


def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad ** 2
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    return param - lr * m_hat / (torch.sqrt(v_hat) + eps), m, v


def coin_entropy(p):
    q = 1 - p
    h = -(p * torch.log2(p) + q * torch.log2(q))
    return torch.where((p == 0) | (p == 1), torch.zeros_like(p), h)


def conv_output_size(n, f, p=0, s=1):
    return math.floor((n - f + 2 * p) / s) + 1


def attention(q, k, v, mask=None):
    scores = q @ k.transpose(-2, -1) / math.sqrt(q.shape[-1])
    if mask is not None:
        scores = scores.masked_fill(~mask, float("-inf"))
    scores = scores - scores.amax(dim=-1, keepdim=True)
    weights = scores.exp()
    weights = weights / weights.sum(dim=-1, keepdim=True)
    return weights @ v
