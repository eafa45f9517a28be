"""One end of a covert channel between two students graded at once: the sender holds a lock on
a file every child sees (os.py) for 6 s; the receiver looks for it for 6 s and prints what it saw.
ROLE is filled in by the test. Both answer right."""
import fcntl
import os
import struct
import time

import torch

ROLE = "__ROLE__"


def sigmoid_backward(x, grad_output):
    with open(os.__file__, "rb") as fh:
        stop = time.monotonic() + 6
        seen = taken = "no"
        while time.monotonic() < stop:
            try:
                if ROLE == "sender":
                    fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
                    fcntl.fcntl(fh, fcntl.F_SETLK, struct.pack("hhqqi", fcntl.F_RDLCK, 0, 0, 0, 0))
                    taken = "yes"
                else:
                    probe = struct.pack("hhqqi", fcntl.F_WRLCK, 0, 0, 0, 0)
                    if struct.unpack("hhqqi", fcntl.fcntl(fh, fcntl.F_GETLK, probe))[0] != fcntl.F_UNLCK:
                        seen = "yes"
                    try:
                        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
                        fcntl.flock(fh, fcntl.LOCK_UN)
                    except BlockingIOError:
                        seen = "yes"
            except PermissionError:
                pass
            time.sleep(0.05)
        print(f"{ROLE}: lock taken {taken}, lock seen {seen}", flush=True)
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
