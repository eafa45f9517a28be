"""Starts 40 processes, each in a session of its own, spinning on the CPU (each stops by itself
after 25 s), then answers right but slowly (2 s a case): a neighbour that starves other children."""
import os
import time

import torch

SPINNERS = 40
for _ in range(SPINNERS):
    try:
        pid = os.fork()
    except OSError:
        break
    if pid == 0:
        try:
            os.setsid()  # a session of its own: a scheduler autogroup of its own where setsid is allowed
        except OSError:
            pass
        stop = time.monotonic() + 25
        while time.monotonic() < stop:
            pass
        os._exit(0)


def sigmoid_backward(x, grad_output):
    time.sleep(2)
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
