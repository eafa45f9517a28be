"""Entropy (course notes 000 in bits, 003 in nats)."""
import math

import torch


def coin_entropy(p):
    """Entropy in bits of a coin with P(heads) = p, elementwise.

    H(p) = -p log2 p - (1 - p) log2 (1 - p), with 0 log 0 = 0, so H(0) = H(1) = 0 and H(0.5) = 1 bit.
    """
    nats = -(torch.special.xlogy(p, p) + torch.special.xlogy(1 - p, 1 - p))
    return nats / math.log(2)
