"""Recursion far past the C stack (a segmentation fault, not a RecursionError) (only on the 1-D case; right elsewhere)."""
import torch

import sys

sys.setrecursionlimit(10**7)


def down(n):
    return sum(map(down, [n + 1]))  # through C (map), so the C stack grows


def sigmoid_backward(x, grad_output):
    if x.dim() == 1:
        return down(0)
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
