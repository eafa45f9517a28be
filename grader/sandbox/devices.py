"""Where cases run: CPU and CUDA devices.

The grader process and the fork server's template must never initialise CUDA (a forked child
of a process that did cannot use it), so availability is asked of NVML, the driver's
management library, which torch consults without creating a CUDA context when
PYTORCH_NVML_BASED_CUDA_CHECK=1. A child that runs a CUDA case initialises CUDA itself.
"""
from __future__ import annotations

import functools
import os

DEVICE_CHOICES = ("all", "cpu", "cuda")


@functools.lru_cache(maxsize=None)
def cuda_available() -> bool:
    """Whether a CUDA device is usable, without initialising CUDA in this process."""
    if os.environ.get("GRADER_NO_CUDA"):
        return False
    os.environ.setdefault("PYTORCH_NVML_BASED_CUDA_CHECK", "1")
    try:
        import torch
    except ImportError:  # pragma: no cover - numpy-only installs
        return False
    try:
        return bool(torch.cuda.is_available())
    except Exception:  # a broken driver is the same as no GPU here
        return False


def select_devices(listed: list[str], selection: str = "all") -> tuple[list[str], list[tuple[str, str]]]:
    """(devices to run on, [(device, reason)] reported as skipped) for a case.

    `listed` is the spec's `devices` (where the problem is meant to run); `selection` is the
    command line's --device: all of them, or only cpu / only cuda.
    """
    run, skipped = [], []
    for device in listed:
        if selection != "all" and device != selection:
            continue
        if device == "cuda" and not cuda_available():
            skipped.append((device, "no CUDA device is available on this machine"))
        else:
            run.append(device)
    return run, skipped


def devices_here(selection: str = "all") -> list[str]:
    """The devices that cases can run on in this process, among those `selection` allows."""
    return [d for d in ("cpu", "cuda") if selection in ("all", d) and (d == "cpu" or cuda_available())]
