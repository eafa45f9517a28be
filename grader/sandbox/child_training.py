"""In the untrusted child, a `training` case: seed, train within the CPU budget, predict held-out points.

The request's calls carry `task` = {"heldout": inputs to predict, "seed": int, "cpu_budget": seconds,
"predict": "forward" or a method name}. The held-out labels never come here: the trusted side
(grader/kinds/training.py) scores the predictions. The case frame's value is
{"output": the predictions, "cpu_seconds": CPU time the training took} (believed only as data).
"""
from __future__ import annotations

import random
import sys
import time

from grader.sandbox.child import FAILED, Channel, guarded

try:
    import resource
except ImportError:  # pragma: no cover - Windows: no CPU budget but the parent's wall-time limit
    resource = None


def seed_everything(seed: int) -> None:
    """The same random state for every run of a case: Python's, NumPy's global and torch's."""
    random.seed(seed)
    sys.modules["numpy"].random.seed(seed % 2**32)
    if "torch" in sys.modules:
        sys.modules["torch"].manual_seed(seed)


def cpu_budget(seconds: float | None):
    """Lower the soft CPU limit to `seconds` from now (SIGXCPU ends the process past it); returns
    a function that puts the old limit back. The hard limit (the job's cpu limit) stays."""
    if resource is None or not seconds:
        return lambda: None
    soft, hard = resource.getrlimit(resource.RLIMIT_CPU)
    used = time.process_time()
    target = int(used + seconds) + 1
    if hard != resource.RLIM_INFINITY:
        target = min(target, hard)
    try:
        resource.setrlimit(resource.RLIMIT_CPU, (target, hard))
    except (OSError, ValueError):
        return lambda: None

    def restore():
        try:
            resource.setrlimit(resource.RLIMIT_CPU, (soft, hard))
        except (OSError, ValueError):
            pass
    return restore


def not_a_model(model, how: str, call_text: str) -> str | None:
    """Why `model` cannot predict (None when it can): not an nn.Module, or no `how` method."""
    torch = sys.modules.get("torch")
    if how == "forward":
        if torch is None or not isinstance(model, torch.nn.Module):
            return f"{call_text} returned {_kind(model)}, not an nn.Module; return the trained model"
    elif not callable(getattr(model, how, None)):
        return f"{call_text} returned {_kind(model)}, which has no {how}() method; return the trained model"
    return None


def predict(model, heldout, how: str):
    """The model's predictions for the held-out inputs: an nn.Module's forward in eval mode
    without gradients, or another object's `how` method (e.g. predict)."""
    if how == "forward":
        torch = sys.modules["torch"]
        model.eval()
        with torch.no_grad():
            return model(heldout)
    return getattr(model, how)(heldout)


def _kind(value) -> str:
    name = type(value).__name__
    return "None" if value is None else f"a {name}"


def run_case(func, call: dict, filename: str, channel: Channel) -> None:
    from grader.sandbox import codec

    name, task = call["name"], call.get("plan") or {}
    args, kwargs = call["args"], call["kwargs"]
    seed_everything(int(task.get("seed", 0)))
    start, cpu_start = time.perf_counter(), time.process_time()
    restore = cpu_budget(task.get("cpu_budget"))
    model = guarded(lambda: func(*args, **kwargs), name, filename, channel, what="while training: ")
    restore()
    cpu_seconds = time.process_time() - cpu_start
    if model is FAILED:
        return
    how = task.get("predict", "forward")
    wrong = guarded(lambda: not_a_model(model, how, call["call"]), name, filename, channel,
                    what="checking the returned model: ")
    if wrong is FAILED:
        return
    if wrong:
        channel.send({"type": "case", "name": name, "status": "bad_output", "message": wrong})
        return
    output = guarded(lambda: predict(model, task.get("heldout"), how),
                     name, filename, channel, what="while predicting the held-out points: ")
    if output is FAILED:
        return
    header = {"type": "case", "name": name, "status": "ok", "seconds": time.perf_counter() - start}
    try:
        frame = codec.encode({"output": output, "cpu_seconds": cpu_seconds}, header=channel.stamp(header))
    except codec.EncodeError as exc:
        channel.send({"type": "case", "name": name, "status": "bad_output",
                      "message": f"the predictions cannot be sent back: {exc}"})
        return
    except MemoryError:
        channel.send({"type": "case", "name": name, "status": "memory", "message": "ran out of memory"})
        return
    codec.write_frame(channel.fd, frame)
