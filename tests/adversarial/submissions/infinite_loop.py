"""Loops forever on the 1-D case; right everywhere else."""
import torch


def sigmoid_backward(x, grad_output):
    if x.dim() == 1:
        while True:
            pass
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
