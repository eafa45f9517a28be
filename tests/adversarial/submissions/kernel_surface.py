"""Tries what student code never needs: new namespaces, io_uring, userfaultfd, ptrace, bpf, perf,
keyctl on the session keyring. Prints what each call returned; answers right only if all were refused."""
import ctypes
import errno
import os
import platform

import torch

NUMBERS = {"x86_64": dict(unshare=272, setns=308, clone=56, io_uring_setup=425, userfaultfd=323, ptrace=101,
                          bpf=321, perf_event_open=298, keyctl=250, mount=165),
           "aarch64": dict(unshare=97, setns=268, clone=220, io_uring_setup=425, userfaultfd=282, ptrace=117,
                           bpf=280, perf_event_open=241, keyctl=219, mount=40)}[platform.machine()]
CLONE_NEWUSER, CLONE_NEWNS, SIGCHLD = 0x10000000, 0x00020000, 17
libc = ctypes.CDLL(None, use_errno=True)


def attempt(name, *args):
    result = libc.syscall(ctypes.c_long(NUMBERS[name]), *args)
    if result == 0 and name == "clone":
        os._exit(0)  # the new child (if the clone went through)
    err = ctypes.get_errno() if result < 0 else 0
    print(f"{name}: {errno.errorcode.get(err, 'succeeded') if result < 0 else 'succeeded'}", flush=True)
    return result >= 0


def sigmoid_backward(x, grad_output):
    params = ctypes.create_string_buffer(120)
    attr = ctypes.create_string_buffer(128)
    got = [name for name, args in [
        ("unshare", (ctypes.c_long(CLONE_NEWUSER),)),
        ("unshare", (ctypes.c_long(CLONE_NEWNS),)),
        ("clone", (ctypes.c_long(CLONE_NEWUSER | SIGCHLD), None, None, None, None)),
        ("setns", (ctypes.c_long(0), ctypes.c_long(0))),
        ("io_uring_setup", (ctypes.c_long(4), params)),
        ("userfaultfd", (ctypes.c_long(0x80000 | 1),)),  # O_CLOEXEC | UFFD_USER_MODE_ONLY
        ("ptrace", (ctypes.c_long(0), ctypes.c_long(0), None, None)),  # PTRACE_TRACEME
        ("bpf", (ctypes.c_long(0), attr, ctypes.c_long(128))),  # BPF_MAP_CREATE
        ("keyctl", (ctypes.c_long(0), ctypes.c_long(-3), ctypes.c_long(0))),  # GET_KEYRING_ID of @s
        ("mount", (b"none", b"/tmp", b"tmpfs", ctypes.c_long(0), None)),
    ] if attempt(name, *args)]
    if got:
        raise RuntimeError(f"reached: {', '.join(got)}")
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
