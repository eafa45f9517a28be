import torch


def coin_entropy(p):
    # Bug: natural log, so the answer is in nats.
    return -(torch.special.xlogy(p, p) + torch.special.xlogy(1 - p, 1 - p))
