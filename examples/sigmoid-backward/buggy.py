import torch


def sigmoid_backward(x, grad_output):
    # Bug: the local derivative only; the upstream gradient is forgotten.
    s = torch.sigmoid(x)
    return s * (1 - s)
