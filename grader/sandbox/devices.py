"""Where cases run: CPU and CUDA devices.

The grader process and the fork server's template must never initialise CUDA (a forked child
of a process that did cannot use it), so availability is asked of NVML, the driver's
management library, which torch consults without creating a CUDA context when
PYTORCH_NVML_BASED_CUDA_CHECK=1. A child that runs a CUDA case initialises CUDA itself.

Where the children run on other machines (a Ray cluster), their machines decide: the executor
says so with `decide_cuda_elsewhere` (a CPU-only driver then still grades CUDA cases on the
cluster's GPUs, and a driver with a GPU skips them on a cluster without one).
"""
from __future__ import annotations

import functools
import os
import weakref

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


#: executor -> its decision, while executors whose children run elsewhere are open (or alive)
_elsewhere: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def decide_cuda_elsewhere(owner: object, available: bool | None) -> None:
    """Whether CUDA cases can run where `owner` (an executor) runs this process's jobs (Ray: a node
    of the cluster has a GPU for them); None withdraws its decision. The latest open one counts;
    with none, this machine decides. GRADER_NO_CUDA still wins."""
    _elsewhere.pop(owner, None)
    if available is not None:
        _elsewhere[owner] = bool(available)


def cuda_usable() -> bool:
    """Whether CUDA cases run: where the jobs run when an executor decided, else on this machine."""
    if os.environ.get("GRADER_NO_CUDA"):
        return False
    if _elsewhere:
        return list(_elsewhere.values())[-1]
    return cuda_available()


def select_devices(listed: list[str], selection: str = "all") -> tuple[list[str], list[tuple[str, str]]]:
    """(devices to run on, [(device, reason)] reported as skipped) for a case.

    `listed` is the spec's `devices` (where the problem is meant to run); `selection` is the
    command line's --device: all of them, or only cpu / only cuda.
    """
    run, skipped = [], []
    for device in listed:
        if selection != "all" and device != selection:
            continue
        if device == "cuda" and not cuda_usable():
            skipped.append((device, "no CUDA device is available on this machine"))
        else:
            run.append(device)
    return run, skipped


def devices_here(selection: str = "all") -> list[str]:
    """The devices that cases can run on in this process, among those `selection` allows."""
    return [d for d in ("cpu", "cuda") if selection in ("all", d) and (d == "cpu" or cuda_usable())]
