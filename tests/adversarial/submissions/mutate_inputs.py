"""Overwrites its inputs in place after computing the right answer."""
import torch


def sigmoid_backward(x, grad_output):
    s = torch.sigmoid(x)
    out = grad_output * s * (1 - s)
    x.zero_()
    grad_output.fill_(float("nan"))
    return out
