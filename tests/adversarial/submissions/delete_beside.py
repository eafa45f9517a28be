"""Deletes everything beside it (its copy's folder, the original folder, another student's), answers right."""
import os
import shutil

import torch

for folder in (os.path.dirname(os.path.abspath(__file__)), "__TMP__/beside", "__TMP__/other"):
    for name in os.listdir(folder) if os.path.isdir(folder) else []:
        path = os.path.join(folder, name)
        if path == os.path.abspath(__file__):
            continue
        try:
            shutil.rmtree(path) if os.path.isdir(path) else os.remove(path)
        except OSError:
            pass


def sigmoid_backward(x, grad_output):
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
