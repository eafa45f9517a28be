"""Kind `module` inside the untrusted child: build the student's class, set its weights, run its calls.

One case is one object: the child constructs the student's class with the case's arguments,
reports the parameters it registered (names and shapes, in registration order), sets the weights
the grader sent when the names and shapes fit, then makes the case's calls in order. For a call
with a gradient, the grader sends the upstream gradient; the child back-propagates it through the
student's module and returns the gradients of the chosen inputs and of every parameter.

The plan of a case (`call["plan"]`, plain data made by grader/kinds/module.py):
  {"framework": "torch"|"numpy", "init": {"args", "kwargs", "text"}, "dtype": "float64"|None,
   "train": true|false|None, "params": "torch" (nn.Module parameters) or the name of a dict attribute
   ("params"), "weights": {"names": [...]|None (None: in registration order), "values": [...]}|None,
   "calls": [{"method", "args", "kwargs", "text", "grad": {"upstream", "wrt": [0, "name", ...]}|None}]}
The case's value: {"parameters": [[name, shape], ...], "loaded": bool,
                   "calls": [{"output", "input_grads": [...], "param_grads": [...]}]}.

Like grader/child.py, this module decides nothing: the comparisons happen in the trusted process.
It imports nothing of grader but the child's helpers.
"""
from __future__ import annotations

import sys
from time import perf_counter  # bound before student code runs

from grader.sandbox.child import Channel, failure, map_arrays, send_value


class CaseFailed(Exception):
    """A step of the case went wrong: (status, message) for the case frame."""

    def __init__(self, status: str, message: str):
        super().__init__(message)
        self.status, self.message = status, message


def run_case(cls, call: dict, filename: str, channel: Channel) -> None:
    """Run one case of a module problem and send its frame."""
    start = perf_counter()
    header = {"type": "case", "name": call["name"]}
    try:
        value = run_plan(cls, call["plan"], filename)
    except CaseFailed as exc:
        channel.send({**header, "status": exc.status, "message": exc.message, "seconds": perf_counter() - start})
        return
    send_value(channel, {**header, "status": "ok", "seconds": perf_counter() - start}, value)


def step(what: str, filename: str, action):
    """`action()`, with anything the student's code raises turned into a CaseFailed naming `what`."""
    try:
        return action()
    except BaseException as exc:  # noqa: BLE001 - anything the student's code raises is a result
        status, message = failure(exc, filename)
        raise CaseFailed(status, f"{what}: {message}") from None


def run_plan(cls, plan: dict, filename: str) -> dict:
    torch = sys.modules.get("torch") if plan["framework"] == "torch" else None
    init = plan["init"]
    obj = step(f"building `{init['text']}`", filename, lambda: cls(*init["args"], **init["kwargs"]))
    if torch is not None:
        if not isinstance(obj, torch.nn.Module):
            raise CaseFailed("bad_output", f"`{init['text']}` made a {type(obj).__name__}, not a torch.nn.Module; "
                                           "define the class as a subclass of nn.Module")
        # nn.Module's own methods, not the student's overrides: the grader asks the module itself
        if plan.get("dtype"):
            step(f"moving `{init['text']}` to {plan['dtype']}", filename,
                 lambda: torch.nn.Module.to(obj, getattr(torch, plan["dtype"])))
        if plan.get("train") is not None:
            step("setting the mode", filename, lambda: torch.nn.Module.train(obj, bool(plan["train"])))
    params = step("reading the parameters", filename, lambda: parameters(obj, plan["params"], torch))
    shapes = step("reading the parameter shapes", filename,
                  lambda: [[str(name), [int(d) for d in p.shape]] for name, p in params])
    result = {"parameters": shapes, "loaded": False, "calls": []}
    weights = plan.get("weights")
    if weights is not None:
        targets = matching(params, shapes, weights)
        if targets is None:
            return result  # the grader reports the contract, expected against found
        step("setting the weights", filename, lambda: load(obj, params, targets, weights["values"], plan, torch))
    result["loaded"] = True
    for number, entry in enumerate(plan["calls"], 1):
        result["calls"].append(make_call(obj, entry, f"call {number} `{entry['text']}`", params, filename, torch))
    return result


def parameters(obj, where, torch) -> list:
    """[(name, array)] of the object's parameters, in registration order."""
    if where == "torch":
        return list(torch.nn.Module.named_parameters(obj))
    found = getattr(obj, where)
    if not isinstance(found, dict):
        raise TypeError(f"self.{where} is a {type(found).__name__}, not a dict of parameter arrays")
    return [(name, value) for name, value in found.items() if hasattr(value, "shape")]


def matching(params: list, shapes: list, weights: dict) -> list | None:
    """The index among `params` of each weight sent, or None when the names or shapes do not fit."""
    values, names = weights["values"], weights.get("names")
    if names is None:
        targets = list(range(len(values))) if len(values) == len(params) else None
    else:
        position = {name: i for i, (name, _) in enumerate(shapes)}
        targets = [position.get(name) for name in names] if len(names) == len(params) else None
    if targets is None or None in targets:
        return None
    if any(shapes[i][1] != list(value.shape) for i, value in zip(targets, values)):
        return None
    return targets


def load(obj, params: list, targets: list, values: list, plan: dict, torch) -> None:
    if torch is None:
        store = getattr(obj, plan["params"])
        for i, value in zip(targets, values):
            store[params[i][0]] = value.copy()
        return
    with torch.no_grad():
        for i, value in zip(targets, values):
            params[i][1].copy_(value)


def make_call(obj, entry: dict, what: str, params: list, filename: str, torch) -> dict:
    """One call on the student's object: its output and, with a gradient, the gradients."""
    args, kwargs, grad = list(entry["args"]), dict(entry["kwargs"]), entry.get("grad")
    wrt = []
    if grad is not None:
        for key in grad["wrt"]:
            holder = args if isinstance(key, int) else kwargs
            holder[key] = holder[key].detach().clone().requires_grad_(True)
            wrt.append(holder[key])
    if torch is not None and entry["method"] == "forward":
        method = obj  # through nn.Module.__call__, as the student's own code would call it
    else:
        method = step(what, filename, lambda: getattr(obj, entry["method"]))
    output = step(what, filename, lambda: method(*args, **kwargs))
    record = {"output": output}
    if grad is None:
        if torch is not None:
            record["output"] = map_arrays(output, lambda t: t.detach())
        return record
    if type(output) is not torch.Tensor:
        raise CaseFailed("bad_output", f"{what} returned a {type(output).__qualname__}, not a plain torch.Tensor; "
                                       "return the tensor itself")
    tensors = wrt + [p for _, p in params]
    upstream = grad["upstream"]

    def backward():
        found = torch.autograd.grad([output], tensors, grad_outputs=[upstream.to(output.dtype)], allow_unused=True)
        return [torch.zeros_like(t) if g is None else g for t, g in zip(tensors, found)]

    try:
        grads = backward()
    except BaseException as exc:  # noqa: BLE001
        status, message = failure(exc, filename)
        raise CaseFailed(status, f"back-propagating through the output of {what}: {message}"
                                 "\n(the output must come from the inputs and parameters by torch operations, "
                                 "without .detach(), .numpy() or .item())") from None
    record["output"] = output.detach()
    record["input_grads"] = [g.detach() for g in grads[:len(wrt)]]
    record["param_grads"] = [g.detach() for g in grads[len(wrt):]]
    return record
