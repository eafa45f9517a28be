"""An honest student whose cases need real CPU work (0.2 s of CPU time each): right answers."""
import time

import torch


def sigmoid_backward(x, grad_output):
    stop = time.process_time() + 0.2  # CPU time, whatever the machine's load
    while time.process_time() < stop:
        pass
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
