"""One file larger than the file-size limit (Python ignores SIGXFSZ: the write fails) (only on the 1-D case; right elsewhere)."""
import torch

import os


def sigmoid_backward(x, grad_output):
    if x.dim() == 1:
        with open("big.bin", "wb") as fh:
            for _ in range(20):
                fh.write(b"\0" * (8 << 20))  # 160 MB in all, over a 64 MB limit
        return x
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
