"""Forks until it cannot (at most 1000 processes, each gone after 20 s), then reports how many it got."""
import os
import time


def sigmoid_backward(x, grad_output):
    made = 0
    for _ in range(1000):
        try:
            pid = os.fork()
        except OSError:
            break
        if pid == 0:
            time.sleep(20)
            os._exit(0)
        made += 1
    raise RuntimeError(f"forked {made} processes")
