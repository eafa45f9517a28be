"""Starts a non-daemon thread that never ends, then answers right."""
import threading

import torch


def spin():
    while True:
        sum(range(1000))


threading.Thread(target=spin).start()


def sigmoid_backward(x, grad_output):
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
