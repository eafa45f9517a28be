"""Leaves a grandchild behind in its own session (gone by itself after 60 s), then answers right.

The grandchild names itself after this run's folder (__TMP__), so a test looks only for its own
orphans, not for those of a test running beside it (pytest-xdist, another checkout)."""
import ctypes
import hashlib
import os
import time

import torch

if os.fork() == 0:
    try:
        try:
            os.setsid()
        except PermissionError:
            pass  # the seccomp filter refuses setsid: the grandchild stays in our session, still an orphan
        if os.fork() == 0:
            name = "orphan-" + hashlib.sha256(b"__TMP__").hexdigest()[:8]  # 15 bytes: a name's limit
            ctypes.CDLL(None).prctl(15, name.encode(), 0, 0, 0)  # PR_SET_NAME: the test looks for it
            time.sleep(60)
    finally:
        os._exit(0)  # never back into the module: this copy must not report on the result channel


def sigmoid_backward(x, grad_output):
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
