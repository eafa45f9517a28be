"""Leaves a grandchild behind in its own session (gone by itself after 60 s), then answers right."""
import ctypes
import os
import time

import torch

if os.fork() == 0:
    os.setsid()
    if os.fork() == 0:
        ctypes.CDLL(None).prctl(15, b"grader-orphan", 0, 0, 0)  # PR_SET_NAME: the test looks for it
        time.sleep(60)
    os._exit(0)


def sigmoid_backward(x, grad_output):
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
