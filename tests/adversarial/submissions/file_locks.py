"""Takes file locks (flock, POSIX, open-file-description) and an inotify watch on files every child
sees (os.py, /etc/passwd): the kernel shares those between children, a channel between students.
Prints what it got; answers right only if every one was refused."""
import ctypes
import fcntl
import os
import struct

import torch

libc = ctypes.CDLL(None, use_errno=True)


def sigmoid_backward(x, grad_output):
    got = []
    for path in (os.__file__, "/etc/passwd"):
        with open(path, "rb") as fh:
            lock = struct.pack("hhqqi", fcntl.F_RDLCK, 0, 0, 0, 0)
            for name, take in [("flock", lambda: fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)),
                               ("lockf", lambda: fcntl.fcntl(fh, fcntl.F_SETLK, lock)),
                               ("getlk", lambda: fcntl.fcntl(fh, fcntl.F_GETLK, lock)),
                               ("ofd", lambda: fcntl.fcntl(fh, getattr(fcntl, "F_OFD_SETLK", 37), lock))]:
                try:
                    take()
                    got.append(f"{name} {path}")
                except OSError as exc:
                    print(f"{name} {path}: {exc}", flush=True)
    fd = libc.inotify_init1(0)
    if fd >= 0:
        got.append("inotify")
    if got:
        raise RuntimeError("got " + ", ".join(got))
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
