"""Allocates (and touches) memory in 256 MB steps, up to 6 GB (only on the 1-D case; right elsewhere)."""
import torch


def sigmoid_backward(x, grad_output):
    if x.dim() == 1:
        hoard = []
        for _ in range(24):
            hoard.append(torch.ones(64 << 20))  # 256 MB, written
        return torch.zeros_like(x)
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
