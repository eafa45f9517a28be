"""Imports torch and numpy beside a shipped torch.py and numpy.py."""
import numpy
import torch


def sigmoid_backward(x, grad_output):
    assert hasattr(numpy, "ndarray")
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
