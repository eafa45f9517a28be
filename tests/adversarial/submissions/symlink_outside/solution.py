"""Reads `secret.txt` beside it (the test makes it a symlink to a file outside the submission)."""
import os

import torch


def sigmoid_backward(x, grad_output):
    here = os.path.dirname(os.path.abspath(__file__))
    try:
        with open(os.path.join(here, "secret.txt")) as fh:
            raise RuntimeError("read through the link: " + fh.read())
    except FileNotFoundError:
        pass
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
