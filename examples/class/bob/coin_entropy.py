import torch


def coin_entropy(p):
    q = 1 - p
    h = -(p * torch.log2(p) + q * torch.log2(q))
    return torch.where((p == 0) | (p == 1), torch.zeros_like(p), h)
