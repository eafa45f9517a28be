"""Prints 200 MB to stdout and stderr, then answers right."""
import sys

import torch

line = "flood " * 1000 + "\n"
for _ in range(17000):
    sys.stdout.write(line)
    sys.stderr.write(line)


def sigmoid_backward(x, grad_output):
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
