"""Activation functions and their derivatives (course notes 000, 002)."""
import torch


def sigmoid_backward(x, grad_output):
    """Backward pass of y = sigmoid(x) = 1 / (1 + e^-x).

    dL/dx = dL/dy * dy/dx = grad_output * sigmoid(x) * (1 - sigmoid(x))
    """
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
