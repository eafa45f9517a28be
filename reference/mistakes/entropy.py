"""Wrong coin entropies students write."""
import math

import torch


def coin_entropy_nats(p):
    """Natural log: the entropy in nats (0.693 for a fair coin) instead of bits."""
    return -(torch.special.xlogy(p, p) + torch.special.xlogy(1 - p, 1 - p))


def coin_entropy_nan_at_edges(p):
    """p * log2(p) without the 0 log 0 = 0 convention: NaN at p = 0 and p = 1."""
    return -(p * torch.log2(p) + (1 - p) * torch.log2(1 - p))


def coin_entropy_missing_minus(p):
    """H = sum p log p, the sign error in notes 000."""
    return (torch.special.xlogy(p, p) + torch.special.xlogy(1 - p, 1 - p)) / math.log(2)


def coin_entropy_one_term(p):
    """Only the heads term -p log2 p."""
    return -torch.special.xlogy(p, p) / math.log(2)
