"""Tries to open the grader's own modules for writing (writing nothing), answers right if it cannot."""
import os

import grader
import torch


def sigmoid_backward(x, grad_output):
    opened = []
    folder = os.path.dirname(grader.__file__)
    for name in ("compare.py", "child.py", "__init__.py"):
        try:
            with open(os.path.join(folder, name), "ab"):
                opened.append(name)
        except OSError:
            pass
    if opened:
        raise RuntimeError(f"could open {opened} for writing")
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
