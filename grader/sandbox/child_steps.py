"""Kind `steps`: calls in sequence, with the values they return kept by name between calls.

Both sides of the boundary run steps with the code here: the child on the student's module
(`serve`), the trusted process on the reference and the known mistakes (grader/kinds/steps.py
calls `run_steps`). So a step means the same thing on both sides, and a step that fails the
same way (a missing key, too few values returned) fails with the same message.

A step is plain data from the spec:
  {"call": "affine_forward" | "model.train", "args": [expr...], "kwargs": {name: expr},
   "set": {"path": expr}, "keep": "name" | ["name", "_", ...], "compare": ["path"...], "repeat": n,
   "numgrad": {...}, "send": ["path"...], "agree": {"dx": "num_dx"}}
With `numgrad` the step's value is the numerical gradient of the call (numerical_gradients);
`send` values come back without being compared with the reference; `agree` is checked by the
trusted side: an analytic gradient against a numerical one, both sent back by now.
An expr is a name ("x"), a slice of one by the repetition ("dw[i]") or a number ("x[2]"), a
list of exprs, or {"value": plain data}. A path is a name followed by keys or attributes
("bn_param.running_mean", "config.t"). Names live in one namespace per case: the case's inputs,
then whatever `keep` binds. Only the values listed in `compare` leave the child; a kept
`cache` or object never does.

This module imports nothing of grader but child.py's helpers and the codec: the sandbox layer
knows nothing of problems.
"""
from __future__ import annotations

import os
import re
from time import perf_counter

from grader.sandbox import codec
from grader.sandbox.child import Channel, failure, flush_output, load_module, map_arrays

_INDEXED = re.compile(r"^([A-Za-z_][A-Za-z0-9_]*)\[(i|\d+)\]$")


class StepFailure(Exception):
    """A step's result is not what the problem asks for (too few values, a key missing): the
    same message on both sides, so a known mistake that fails this way can be named."""


class StepError(Exception):
    """A step raised: `step` says which one ("step 2 `affine_backward(dout, cache)`"), `cause` what."""

    def __init__(self, step: str, cause: BaseException):
        super().__init__(f"{step}: {cause}")
        self.step, self.cause = step, cause


def expand(steps: list[dict]) -> list[tuple[int, int, dict]]:
    """(step number from 1, repetition from 0, step) for every call, repeated steps unrolled."""
    return [(number, rep, step) for number, step in enumerate(steps, 1) for rep in range(int(step.get("repeat", 1)))]


def expr_text(expr) -> str:
    if isinstance(expr, list):
        return "[" + ", ".join(map(expr_text, expr)) + "]"
    if isinstance(expr, dict):
        return repr(expr.get("value"))
    return str(expr)


def step_label(number: int, rep: int, step: dict) -> str:
    """How a failing step is named to a student: step 3 `opt.step()` (call 4 of 10)."""
    parts = [expr_text(a) for a in step.get("args", [])] + [f"{k}={expr_text(v)}" for k, v in step.get("kwargs", {}).items()]
    repeat = int(step.get("repeat", 1))
    sets = "".join(f"{target} = {expr_text(value)}; " for target, value in step.get("set", {}).items())
    what = "numerical gradient of " if "numgrad" in step else ""
    return f"step {number} {what}`{sets}{step['call']}({', '.join(parts)})`" + (f" (call {rep + 1} of {repeat})" if repeat > 1 else "")


def labels(steps: list[dict]) -> list[str]:
    return [step_label(number, rep, step) for number, rep, step in expand(steps)]


def value_of(expr, names: dict, rep: int):
    """What an argument expression stands for in the namespace."""
    if isinstance(expr, list):
        return [value_of(e, names, rep) for e in expr]
    if isinstance(expr, dict):
        return copy_plain(expr.get("value"))
    match = _INDEXED.match(expr)
    name = match.group(1) if match else expr
    if name not in names:
        raise StepFailure(f"no value named '{name}' at this step")
    value = names[name]
    if match:
        index = rep if match.group(2) == "i" else int(match.group(2))
        value = value[index]
    return value


def copy_plain(value):
    """A fresh copy of plain spec data (dicts, lists, strings, numbers)."""
    if isinstance(value, dict):
        return {k: copy_plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [copy_plain(v) for v in value]
    return value


def get_path(names: dict, path: str):
    """The value at `path`: a name, then keys of dicts or attributes of objects."""
    head, *rest = path.split(".")
    if head not in names:
        raise StepFailure(f"no value named '{head}' at this step")
    value, where = names[head], head
    for part in rest:
        if isinstance(value, dict):
            if part not in value:
                raise StepFailure(f"after the call, {where} has no key '{part}' (it has: "
                                  f"{', '.join(map(str, list(value)[:10])) or 'none'})")
            value = value[part]
        else:
            try:
                value = getattr(value, part)
            except AttributeError:
                raise StepFailure(f"after the call, {where} has no attribute '{part}'") from None
        where += f".{part}"
    return value


def set_path(names: dict, path: str, value) -> None:
    head, _, last = path.rpartition(".")
    if not head:
        names[path] = value
        return
    target = get_path(names, head)
    if isinstance(target, dict):
        target[last] = value
    else:
        setattr(target, last, value)


def find_callable(path: str, names: dict, lookup):
    """The function or method a step calls: a kept object's method, else a name of the module."""
    head, *rest = path.split(".")
    if head in names:
        value = names[head]
    else:
        value = lookup(head)
    for part in rest:
        value = getattr(value, part)
    return value


def snapshot(value):
    """A copy of a compared value as it is now (later steps may change it in place)."""
    return map_arrays(value, lambda t: t.detach().clone(), lambda a: a.copy()) if value is not None else None


def run_steps(steps: list[dict], names: dict, lookup, check=None) -> list[dict]:
    """Run the steps on the namespace `names`; the compared values after each call, one dict per call.

    `lookup(name)` gives a name the module defines (the student's module, or the reference's
    functions); `check(value, label)` may refuse a compared value (the child: one it cannot send).
    Raises StepError naming the step."""
    out = []
    for (number, rep, step), label in zip(expand(steps), labels(steps)):
        try:
            for target, expr in step.get("set", {}).items():
                set_path(names, target, value_of(expr, names, rep))
            func = find_callable(step["call"], names, lookup)
            args = [value_of(a, names, rep) for a in step.get("args", [])]
            kwargs = {k: value_of(v, names, rep) for k, v in step.get("kwargs", {}).items()}
            if "numgrad" in step:
                value = numerical_gradients(func, args, kwargs, step, names, rep)
            else:
                value = func(*args, **kwargs)
            keep = step.get("keep")
            if isinstance(keep, str):
                names[keep] = value
            elif isinstance(keep, list):
                if not isinstance(value, (tuple, list)) or len(value) != len(keep):
                    got = f"{len(value)} values" if isinstance(value, (tuple, list)) else f"a {type(value).__name__}"
                    raise StepFailure(f"returned {got}; expected a tuple of {len(keep)}: ({', '.join(keep)})")
                names.update((k, v) for k, v in zip(keep, value) if k != "_")
            compared = {}
            for path in step.get("compare", []) + step.get("send", []):
                compared[path] = snapshot(get_path(names, path))
                if check is not None:
                    check(compared[path], path)
            out.append(compared)
        except BaseException as exc:  # noqa: BLE001 - the caller decides what a failure means
            raise StepError(label, exc) from exc
    return out


def numerical_gradients(func, args: list, kwargs: dict, step: dict, names: dict, rep: int) -> tuple:
    """Central differences of `func`'s output (its item `output`, for a forward returning
    (out, cache)) contracted with the upstream gradient: d sum(out * upstream) / d arg, for each
    argument named in `wrt`, as CS231n's eval_numerical_gradient_array computes them.
    `numgrad`: {"upstream": expr, "wrt": [argument names], "output": index, "h": step size}."""
    spec = step["numgrad"]
    upstream = value_of(spec["upstream"], names, rep)
    h, index = float(spec.get("h", 1e-5)), spec.get("output")
    exprs = step.get("args", [])

    def objective() -> float:
        out = func(*args, **kwargs)
        return float(((out[index] if index is not None else out) * upstream).sum())

    grads = []
    for name in spec["wrt"]:
        if name not in exprs:
            raise StepFailure(f"'{name}' is not one of the call's arguments")
        position = exprs.index(name)
        x = args[position]
        x = x.detach().clone() if hasattr(x, "detach") else x.copy()  # perturbed here, never the kept value
        args[position] = x
        grad = x * 0
        for idx in _indices(tuple(x.shape)):
            old = x[idx].item()
            x[idx] = old + h
            plus = objective()
            x[idx] = old - h
            minus = objective()
            x[idx] = old
            grad[idx] = (plus - minus) / (2 * h)
        grads.append(grad)
    return tuple(grads)


def _indices(shape: tuple):
    import itertools

    return itertools.product(*(range(n) for n in shape))


def _sendable(value, path: str) -> None:
    try:
        codec.encode(value)
    except codec.EncodeError as exc:
        raise StepFailure(f"`{path}` cannot be sent back to the grader: {exc}".replace("output", path, 1)) from None


def serve(request: dict, channel: Channel, path: str) -> None:
    """Load the student's module, then run each case's steps in a fresh namespace."""
    module = load_module(path, channel)
    if module is None:
        return
    program = request["calls"][0]["plan"] if request["calls"] else {}
    missing = [n for n in program.get("defines", []) if not callable(module.__dict__.get(n))]
    if missing:
        defined = sorted(n for n, v in module.__dict__.items() if callable(v) and not n.startswith("_"))[:20]
        channel.send({"type": "load_error", "kind": "missing",
                      "message": f"{os.path.basename(path)} does not define {', '.join(missing)} "
                                 f"(it defines: {', '.join(defined) or 'nothing callable'})"})
        return
    channel.send({"type": "ready"})
    filename = os.path.basename(path)

    def lookup(name):
        if name not in module.__dict__:
            raise StepFailure(f"your code defines no '{name}'")
        return module.__dict__[name]

    for call in request["calls"]:
        name, program = call["name"], call["plan"]
        names = dict(program["names"])
        for key in program.get("requires_grad", []):
            names[key] = names[key].requires_grad_(True)
        start = perf_counter()
        try:
            value = run_steps(program["steps"], names, lookup, _sendable)
        except StepError as exc:
            cause = exc.cause
            if isinstance(cause, StepFailure):
                header = {"type": "case", "name": name, "status": "bad_output", "message": f"{exc.step}: {cause}"}
            else:
                status, message = failure(cause, filename)
                header = {"type": "case", "name": name, "status": status, "message": f"{exc.step}: {message}",
                          "seconds": perf_counter() - start}
            flush_output()
            channel.send(header)
            continue
        try:
            frame = codec.encode(value, header=channel.stamp({"type": "case", "name": name, "status": "ok",
                                                              "seconds": perf_counter() - start}))
        except (codec.EncodeError, MemoryError) as exc:
            channel.send({"type": "case", "name": name, "status": "bad_output", "message": str(exc)[:2000]})
            continue
        codec.write_frame(channel.fd, frame)


__all__ = ["StepError", "StepFailure", "expand", "labels", "run_steps", "serve", "step_label"]
