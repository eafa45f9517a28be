"""What runs inside the untrusted child process: load the submission, call it, send outputs back.

This module is the only grader code that shares a process with student code, so it holds
nothing secret and decides nothing: it receives plain inputs, calls the student's function
and writes plain outputs (grader.sandbox.codec frames) to the result pipe. Scores, comparisons and
expected values exist only in the trusted parent, which believes nothing here but the data.

Messages sent, one frame each:
  {"type": "load_error", "kind": "syntax|exception|missing|not_callable|signature", "message": ...}
  {"type": "ready"}
  {"type": "case", "name": ..., "status": "ok|exception|bad_output|memory", "message": ..., "seconds": ...}
  {"type": "done"}
Any of them may carry "forbidden": [{"api", "name", "file", "line"}...], the forbidden APIs the
student's code called so far (grader/sandbox/forbidden_runtime.py).
"""
from __future__ import annotations

import importlib
import inspect
import keyword
import os
import statistics
import sys
import traceback
import types
from time import perf_counter  # bound before student code runs (a student who patches time.* changes nothing here)

from grader.sandbox import forbidden_runtime
from grader.sandbox.values import map_leaves


#: The student's folder (the work folder), set before their code runs: frames from files in it are theirs.
STUDENT_FOLDER: str | None = None
_NOTEBOOK_LINES: dict[str, list[str] | None] = {}


def _student_path(filename: str) -> str | None:
    """The path of a traceback frame's file when it is one of the student's files, else None."""
    if not filename or filename.startswith("<") or STUDENT_FOLDER is None:
        return None
    path = os.path.normpath(os.path.join(STUDENT_FOLDER, filename))
    return path if path.startswith(STUDENT_FOLDER.rstrip(os.sep) + os.sep) else None


def source_location(filename: str, lineno: int | None, sep: str = " ") -> str:
    """'solution.py line 12', or 'hw.ipynb cell 3 line 2' in a module grader.problems.notebook made from a notebook
    (its first line names the notebook; a '# grader: cell N' line starts each cell)."""
    name = os.path.basename(filename or "?")
    path = _student_path(filename)
    if path not in _NOTEBOOK_LINES:
        try:
            with open(path, encoding="utf-8", errors="replace") as fh:
                first = fh.readline()
                _NOTEBOOK_LINES[path] = [first] + fh.readlines() if first.startswith("# grader: notebook ") else None
        except (OSError, TypeError, ValueError):
            _NOTEBOOK_LINES[path] = None
    lines = _NOTEBOOK_LINES[path]
    if not lines:
        return f"{name}{sep}line {lineno}" if lineno else name
    notebook = lines[0][len("# grader: notebook "):].rsplit(" (", 1)[0]
    for index in range(min(lineno, len(lines)) - 1, 0, -1):
        if lines[index].startswith("# grader: cell "):
            return f"{notebook} cell {lines[index][len('# grader: cell '):].strip()}{sep}line {lineno - index - 1}"
    return notebook


MAX_MESSAGE = 2000  #: characters of a student's exception message sent back


def short_traceback(exc: BaseException, filenames: set[str]) -> str:
    """The exception with only the frames from the student's own files."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if os.path.basename(f.filename) in filenames or _student_path(f.filename)]
    lines = [f"  {source_location(f.filename, f.lineno, ', ')}, in {f.name}: {(f.line or '').strip()[:200]}"
             for f in frames[-5:]]
    head = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    if len(head) > MAX_MESSAGE:
        head = head[:MAX_MESSAGE] + f" [... {len(head) - MAX_MESSAGE} more characters not shown]"
    return head + ("\n" + "\n".join(lines) if lines else "")


def load_failure(exc: BaseException, filename: str) -> str:
    """Why loading the student's module failed, where first: 'solution.py line 12: NameError: ...'."""
    frames = [f for f in traceback.extract_tb(exc.__traceback__)
              if os.path.basename(f.filename) == filename or _student_path(f.filename)]
    if isinstance(exc, SyntaxError) and exc.filename and _student_path(exc.filename):
        where = source_location(exc.filename, exc.lineno)  # in a helper module the student imports
    elif frames:
        where = source_location(frames[-1].filename, frames[-1].lineno)
    else:
        where = filename
    cause = describe_exit(exc) or (f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__)
    text = f"{where}: {cause[:MAX_MESSAGE]}\n(raised while the file was loaded, so no test could run)"
    if len(frames) > 1:
        text += "\n" + "\n".join(f"  {source_location(f.filename, f.lineno, ', ')}, in {f.name}: {(f.line or '').strip()[:200]}"
                                  for f in frames[-5:])
    return text


def describe_exit(exc: BaseException) -> str:
    if isinstance(exc, SystemExit):
        return f"the code called sys.exit({exc.code!r}); a function must return its result instead"
    if isinstance(exc, KeyboardInterrupt):
        return "the code raised KeyboardInterrupt"
    return ""


class Channel:
    """Writes frames to the result pipe."""

    def __init__(self, fd: int):
        self.fd = fd
        self.guard: forbidden_runtime.Guard | None = None

    def send(self, header: dict, value=None) -> None:
        from grader.sandbox import codec

        codec.write_frame(self.fd, codec.encode(value, header=self.stamp(header)))

    def stamp(self, header: dict) -> dict:
        """The header with the forbidden calls seen so far, if any."""
        found = self.guard.found() if self.guard else []
        return {**header, "forbidden": found} if found else header


def load_submission(path: str, entry_point: str, channel: Channel):
    """Run the student's module and return its entry point, or report why not (and return None)."""
    module = load_module(path, channel)
    if module is None:
        return None
    filename = os.path.basename(path)
    func = module.__dict__.get(entry_point)
    if func is None:
        defined = sorted(n for n, v in module.__dict__.items()
                         if isinstance(v, types.FunctionType) and not n.startswith("_grader"))
        found = f" (it defines: {', '.join(defined)})" if defined else " (it defines no functions)"
        channel.send({"type": "load_error", "kind": "missing",
                      "message": f"{source_location(path, None)} has no function named '{entry_point}'{found}"})
        return None
    if not callable(func):
        channel.send({"type": "load_error", "kind": "not_callable",
                      "message": f"'{entry_point}' in {filename} is a {type(func).__name__}, not a function"})
        return None
    return func


def package_of(path: str) -> str | None:
    """The dotted package a module in a subfolder of the student's folder belongs to
    ('cs231n/layers.py' -> 'cs231n'), so that its relative imports work; None at the top level
    or when a folder name is not a Python name."""
    if STUDENT_FOLDER is None:
        return None
    parts = os.path.relpath(path, STUDENT_FOLDER).split(os.sep)[:-1]
    if not parts or not all(p.isidentifier() and not keyword.iskeyword(p) for p in parts):
        return None
    return ".".join(parts)


#: A batch's worker compiles each file once: (file name, source) -> code. A student's problems
#: often share one file (a notebook, one .py for the assignment); compiling it is about 1 ms a time.
_COMPILED: dict[tuple[str, bytes], types.CodeType] = {}


def compiled(source: bytes, filename: str) -> types.CodeType:
    """`source` compiled as a module, from this process's cache where the same file was compiled
    before (a code object is immutable: each problem still runs it in a fresh module)."""
    key = (filename, source)
    code = _COMPILED.get(key)
    if code is None:
        code = compile(source, filename, "exec", dont_inherit=True)
        if len(_COMPILED) >= 8:
            _COMPILED.clear()
        _COMPILED[key] = code
    return code


def load_module(path: str, channel: Channel):
    """Run the student's module and return it, or report why not (and return None).

    A module in a package folder (cs231n/layers.py) is loaded as that package's module
    (cs231n.layers), after the package itself, so `from .fast_layers import *` works."""
    filename = os.path.basename(path)
    try:
        with open(path, "rb") as fh:
            source = fh.read()
        code = compiled(source, filename)
    except SyntaxError as exc:
        channel.send({"type": "load_error", "kind": "syntax",
                      "message": f"SyntaxError in {source_location(path, exc.lineno)}: {exc.msg}"})
        return None
    except (OSError, ValueError) as exc:
        channel.send({"type": "load_error", "kind": "exception", "message": f"cannot read {filename}: {exc}"})
        return None
    package = package_of(path)
    module = types.ModuleType(f"{package}.{os.path.splitext(filename)[0]}" if package else "submission")
    module.__file__ = path
    sys.modules["submission"] = module
    try:
        if package:
            import importlib

            parent = importlib.import_module(package)  # the student's __init__.py runs here, if any
            if os.path.dirname(os.path.realpath(path)) not in [os.path.realpath(p) for p in getattr(parent, "__path__", [])]:
                module.__name__ = "submission"  # a library of that name shadows the folder: load it alone
            else:
                module.__package__ = package
                sys.modules[module.__name__] = module
        exec(code, module.__dict__)
    except MemoryError:
        channel.send({"type": "load_error", "kind": "memory", "message": f"ran out of memory while loading {filename}"})
        return None
    except BaseException as exc:  # noqa: BLE001 - anything the student's module raises is a result
        flush_output()  # what the cells before the failing one printed comes back with the error
        channel.send({"type": "load_error", "kind": "exception", "message": load_failure(exc, filename)})
        return None
    return module


_REAL_PAST: dict[tuple, bool] = {}  #: sys.path -> whether a real `past` package is on it (looked up once)


def install_python2_names() -> None:
    """`from past.builtins import xrange` (course files written for Python 2 and 3) works without the
    `future` package: a stand-in `past.builtins` with xrange and friends, unless the real one is there
    (looked for once per sys.path: a batch's problems share the student's folder, which they cannot change)."""
    import importlib.util

    if "past" in sys.modules:
        return
    where = tuple(sys.path)
    if where not in _REAL_PAST:
        _REAL_PAST[where] = importlib.util.find_spec("past") is not None
    if _REAL_PAST[where]:
        return
    past, builtins = types.ModuleType("past"), types.ModuleType("past.builtins")
    builtins.xrange, builtins.basestring, builtins.unicode, builtins.long = range, str, str, int
    builtins.raw_input, builtins.reduce = input, __import__("functools").reduce
    past.builtins, past.__path__ = builtins, []
    sys.modules["past"], sys.modules["past.builtins"] = past, builtins


def map_arrays(value, on_tensor, on_array=lambda a: a):
    """A nested argument with its (plain) tensors and arrays replaced by on_tensor/on_array of them."""
    def leaf(x, _path):
        if "torch" in sys.modules and type(x) is sys.modules["torch"].Tensor:
            return on_tensor(x)
        if "numpy" in sys.modules and type(x) is sys.modules["numpy"].ndarray:
            return on_array(x)
        return x
    return map_leaves(value, leaf)


def to_device(value, device: str):
    """The tensors of a nested argument moved to `device` (the first one initialises CUDA here)."""
    return map_arrays(value, lambda t: t.to(device))


def use_gpu(request: dict) -> None:
    """Before any CUDA call: see the GPUs the grader sees, and cap this process's GPU memory.

    The cap is set inside the student's process, so a student can lift it; the sandbox's
    cgroup limits host memory, not GPU memory (see docs/threat-model.md)."""
    visible = request.get("cuda_visible_devices")
    if visible is None:
        os.environ.pop("CUDA_VISIBLE_DEVICES", None)
    else:
        os.environ["CUDA_VISIBLE_DEVICES"] = visible
    import torch

    cap = int(request["limits"].get("gpu_memory_mb") or 0)
    if cap and torch.cuda.is_available():
        total = torch.cuda.get_device_properties(0).total_memory
        torch.cuda.set_per_process_memory_fraction(min(1.0, cap * (1 << 20) / total))


def copy_value(value):
    """A deep copy of the tensors and arrays in a nested argument (each timed run gets fresh inputs)."""
    return map_arrays(value, lambda t: t.clone(), lambda a: a.copy())


def synchronizer(device: str):
    """What waits for the device's queued work: CUDA kernels run asynchronously, so a run is
    timed between two synchronisations; on the CPU there is nothing to wait for."""
    if device.startswith("cuda"):
        import torch

        return lambda: torch.cuda.synchronize(device)
    return lambda: None


def call_timed(func, args, kwargs, device: str, timing: dict):
    """The first call's value and a speed test's measurements.

    The first call gives the value (checked like any case) and counts as a warm-up; more warm-up
    runs follow, then timed runs, each on fresh copies of the inputs (a function may update
    them in place), until `repeat` timed runs are done or `budget` seconds are spent. The best
    (least disturbed) timed run is the measure; when warm-up used up the budget, the best of
    the runs made is. With `enough` (seconds) the timed runs stop as soon as the best is at most
    that: more runs could only lower the best, so a verdict it already passes cannot change."""
    sync = synchronizer(device)
    pristine = copy_value((args, kwargs))
    sync()
    start = perf_counter()
    value = func(*args, **kwargs)
    sync()
    times = [perf_counter() - start]
    warmup, repeat = max(1, int(timing.get("warmup", 2))), max(1, int(timing.get("repeat", 10)))
    stop_at = perf_counter() + float(timing.get("budget", 2.0))
    enough = timing.get("enough")
    while len(times) < warmup + repeat and perf_counter() < stop_at:
        a, k = copy_value(pristine)
        sync()
        start = perf_counter()
        func(*a, **k)
        sync()
        times.append(perf_counter() - start)
        if enough is not None and len(times) > warmup and min(times[warmup:]) <= enough:
            break
    timed = times[warmup:] or times
    return value, {"best": min(timed), "median": statistics.median(timed), "runs": len(timed)}


def changed_arguments(before, after) -> list:
    """Positions and keyword names of the arguments a call changed in place (for a problem whose
    function must leave its inputs alone); `before` is a copy taken just before the call."""
    (args0, kwargs0), (args1, kwargs1) = before, after
    changed = [i for i, (a, b) in enumerate(zip(args0, args1)) if not same_value(a, b)]
    return changed + [k for k in kwargs0 if not same_value(kwargs0[k], kwargs1.get(k))]


def same_value(a, b) -> bool:
    """Equal arrays/tensors (NaN equal to NaN) and containers of them; other leaves are not
    compared (numbers and strings cannot be changed in place)."""
    torch = sys.modules.get("torch")
    np = sys.modules.get("numpy")
    try:
        if torch is not None and type(a) is torch.Tensor:
            if type(b) is not torch.Tensor or a.shape != b.shape or a.dtype != b.dtype:
                return False
            if a.is_floating_point() or a.is_complex():
                return bool(torch.equal(a.isnan(), b.isnan()) and torch.equal(a.nan_to_num(), b.nan_to_num()))
            return bool(torch.equal(a, b))
        if np is not None and type(a) is np.ndarray:
            return type(b) is np.ndarray and a.shape == b.shape and a.dtype == b.dtype and \
                bool(np.array_equal(a, b, equal_nan=a.dtype.kind in "fc"))
        if isinstance(a, (list, tuple)):
            return isinstance(b, (list, tuple)) and len(a) == len(b) and all(map(same_value, a, b))
        if isinstance(a, dict):
            return isinstance(b, dict) and a.keys() == b.keys() and all(same_value(a[k], b[k]) for k in a)
    except Exception:  # noqa: BLE001 - a student's object that cannot be compared counts as changed
        return False
    return True


_SIGNATURE: list = [None, None]  #: the function last checked and its signature (None: it has none)


def signature_of(func) -> inspect.Signature | None:
    """inspect.signature(func), worked out once for a problem's cases (0.1 ms a time) rather than
    once per case; None for a callable without one (some builtins). Raises TypeError as
    inspect.signature does for what is not a callable."""
    if _SIGNATURE[0] is not func:
        try:
            found = inspect.signature(func)
        except ValueError:
            found = None
        _SIGNATURE[:] = [func, found]
    return _SIGNATURE[1]


def run_case(func, call: dict, filename: str, channel: Channel) -> None:
    from grader.sandbox import codec

    name = call["name"]
    args, kwargs = call["args"], call["kwargs"]
    device = call.get("device", "cpu")
    if device != "cpu":
        try:
            args, kwargs = to_device(args, device), to_device(kwargs, device)
        except Exception as exc:  # noqa: BLE001 - a broken GPU fails this case, not the grader
            channel.send({"type": "case", "name": name, "status": "crashed",
                          "message": f"could not put the inputs on {device}: {type(exc).__name__}: {exc}"})
            return
    try:
        signature = signature_of(func)
        if signature is not None:  # builtins without a signature: just call
            signature.bind(*args, **kwargs)
    except TypeError as exc:
        channel.send({"type": "case", "name": name, "status": "signature",
                      "message": f"the grader calls {call['call']} but your function cannot take that: {exc}"})
        return
    before = copy_value((list(args), dict(kwargs))) if call.get("check_inputs") else None
    start = perf_counter()
    timing = None
    try:
        if call.get("timing"):
            value, timing = call_timed(func, args, kwargs, device, call["timing"])
        else:
            value = func(*args, **kwargs)
    except BaseException as exc:  # noqa: BLE001 - anything the student's code raises is a result
        status, message = failure(exc, filename)
        channel.send({"type": "case", "name": name, "status": status, "message": message,
                      "seconds": perf_counter() - start})
        return
    seconds = perf_counter() - start
    header = {"type": "case", "name": name, "status": "ok", "seconds": seconds}
    if timing is not None:
        header["timing"] = timing
    if before is not None:
        header["mutated"] = changed_arguments(before, (list(args), dict(kwargs)))
    send_value(channel, header, value)


def failure(exc: BaseException, filename: str) -> tuple[str, str]:
    """(status, message) of a case whose student code raised `exc`."""
    if isinstance(exc, MemoryError) or (isinstance(exc, RuntimeError) and not isinstance(exc, RecursionError)
                                        and "can't allocate memory" in str(exc)):  # torch's allocator says so
        return "memory", "ran out of memory"
    return "exception", describe_exit(exc) or short_traceback(exc, {filename})


FAILED = object()  #: what `guarded` returns when the student's code failed (the case frame is sent)


def guarded(thunk, name: str, filename: str, channel: Channel, what: str = ""):
    """thunk()'s value, or FAILED after sending the case frame that says how the student's code
    failed (`what`, e.g. "while training: ", goes before the message)."""
    start = perf_counter()
    try:
        return thunk()
    except BaseException as exc:  # noqa: BLE001 - anything the student's code raises is a result
        status, message = failure(exc, filename)
        channel.send({"type": "case", "name": name, "status": status, "message": what + message,
                      "seconds": perf_counter() - start})
        return FAILED


def send_value(channel: Channel, header: dict, value) -> None:
    """Send a case's value, or a bad_output case saying why the value cannot cross the boundary."""
    from . import codec

    try:
        frame = codec.encode(value, header=channel.stamp(header))
    except codec.EncodeError as exc:
        channel.send({**header, "status": "bad_output", "message": str(exc)})
        return
    except MemoryError:
        channel.send({"type": "case", "name": header["name"], "status": "memory", "message": "ran out of memory"})
        return
    codec.write_frame(channel.fd, frame)


#: jobs whose cases do more than call the entry point: mode -> the child module that runs them
#: (its `serve(request, channel, path)` runs the whole job, or its `run_case` each case)
MODES = {"module": "grader.sandbox.child_module", "training": "grader.sandbox.child_training",
         "steps": "grader.sandbox.child_steps"}


def serve(request: dict, channel: Channel) -> None:
    """Load the submission and run every call in the request."""
    framework = request["framework"]
    if framework == "torch":
        import torch

        torch.set_num_threads(1)
    import numpy  # noqa: F401 - imported before student code so it cannot be shadowed

    if request.get("cuda"):
        use_gpu(request)

    workdir = request["workdir"]
    os.chdir(workdir)
    # The submission's folder goes at the END of sys.path: its helper modules import, but a
    # shipped torch.py or numpy.py never shadows the real one.
    sys.path.append(workdir)
    global STUDENT_FOLDER
    STUDENT_FOLDER = os.path.abspath(workdir)
    path = os.path.join(workdir, request["module"])
    channel.guard = forbidden_runtime.install(request.get("forbidden") or [])  # before any student code
    install_python2_names()
    mode = request.get("mode") or "calls"
    runner = importlib.import_module(MODES[mode]) if mode != "calls" else None
    if hasattr(runner, "serve"):  # the mode loads the submission and runs the whole job itself (steps)
        runner.serve(request, channel, path)
        flush_output()
        channel.send({"type": "done"})
        return
    func = load_submission(path, request["entry_point"], channel)
    if func is None:
        return
    forbidden_runtime.install(request.get("forbidden") or [], channel.guard)  # libraries the module imported
    channel.send({"type": "ready"})
    run = runner.run_case if runner else run_case
    try:
        for call in request["calls"]:
            run(func, call, os.path.basename(path), channel)
    finally:
        _SIGNATURE[:] = [None, None]  # the function goes with its module (what it holds is collected)
    flush_output()  # before "done": the parent may end the process right after it
    channel.send({"type": "done"})


def serve_batch(request: dict, channel: Channel, go_fd: int) -> None:
    """Run several problems of one student in this confined worker, one after another.

    Each problem loads its module afresh and runs its calls (`serve`); then the worker puts back
    what a problem changes as a matter of course and checks that nothing else changed
    (process_state: monkeypatched libraries, threads, signals, limits, descriptors, settings), that
    no process is left in our PID namespace, that nothing changed in the writable folders, and
    that the problem used no more CPU than its limit. It sends a "problem_end" frame saying
    whether all that held ("clean"). Before the next problem it waits for a byte on `go_fd`: the
    grader sends it once it has read everything of this problem, so the next problem's output
    cannot mix with this one's. It stops at the first problem that did not end cleanly, and the
    grader grades that one and the rest alone, each in a fresh process (grader/sandbox/runner.py).
    With "problem_processes" in the request each problem runs in a process of its own instead
    (`_serve_batch_in_processes`)."""
    from grader.sandbox import process_state

    if request.get("problem_processes"):
        _serve_batch_in_processes(request, channel, go_fd)
        return
    own_namespace = os.getppid() == 1  # our PID namespace holds only init, us and what we start
    before = view_state() if own_namespace else None
    from grader.sandbox import confine as sandbox

    cpu_limit = sandbox.cpu_seconds(request["limits"])  # each problem's own, as alone (the worker's hard limit is the sum)
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)  # what serve() does for a torch problem, done before the snapshot
    import numpy  # noqa: F401 - as serve() does: imported before any student code
    sys.dont_write_bytecode = True  # a helper module's __pycache__ would change the work folder (-I ignores the variable)
    snapshot = process_state.Snapshot()
    for index, problem in enumerate(request["batch"]):
        if index and not _read_go(go_fd):
            return
        undo = process_state.Undo(request["workdir"])
        start = _give_cpu(cpu_limit)
        try:
            reseed()
            serve({**request, **problem, "calls": request["calls"][index]}, channel)
        except BaseException as exc:  # noqa: BLE001 - report; the checks below decide what follows
            report_crash(channel, exc)
        flush_output()
        try:
            changed = _left_behind(snapshot, undo, channel, own_namespace, before)
        except BaseException as exc:  # noqa: BLE001 - the problem broke what the checks use
            changed = [f"the checks failed: {type(exc).__name__}"]
        flush_output()  # what the problem's finalizers printed while its objects were collected: its own output
        if _cpu_seconds() - start > cpu_limit:
            changed.append("more CPU than its limit")
        clean = own_namespace and not changed
        # "changed" says why a problem is graded again alone (tests read it; the grader needs only "clean")
        channel.send({"type": "problem_end", "index": index, "exit": 0, "clean": clean, "changed": changed[:5]})
        if not clean:
            return


def report_crash(channel: Channel, exc: BaseException) -> None:
    """Tell the grader the child failed outside the student's calls; a channel that is broken too
    (the student closed it) leaves the grader to see the child end."""
    try:
        channel.send({"type": "crash", "message": f"{type(exc).__name__}: {exc}"})
    except BaseException:  # noqa: BLE001
        pass


def _left_behind(snapshot, undo, channel: Channel, own_namespace: bool, view: list | None) -> list[str]:
    """After a problem of a batch: put back what it changes as a matter of course, then say what
    else it left for the next problem (nothing: the process and sandbox are as before it)."""
    from grader.sandbox import process_state

    forbidden_runtime.uninstall(channel.guard)
    channel.guard = None
    undo.restore()
    changed = snapshot.differences(process_state.Snapshot(namespaces=False))
    if undo.lost_modules:
        changed.append("sys.modules lost its order (an entry from before the problem removed)")
    if own_namespace and _others_alive():
        changed.append("a process left running")
    if own_namespace and view_state() != view:
        changed.append("the writable folders changed")
    return changed


def _cpu_seconds() -> float:
    import resource

    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def _give_cpu(seconds: int) -> float:
    """Let the next problem use `seconds` of CPU from now (RLIMIT_CPU's soft limit counts the
    whole process); returns the CPU used so far."""
    import math
    import resource

    used = _cpu_seconds()
    _, hard = resource.getrlimit(resource.RLIMIT_CPU)
    soft = math.ceil(used) + seconds
    resource.setrlimit(resource.RLIMIT_CPU, (soft if hard == resource.RLIM_INFINITY else min(soft, hard), hard))
    return used


def _serve_batch_in_processes(request: dict, channel: Channel, go_fd: int) -> None:
    """`serve_batch` with each problem in a process of its own (GRADER_BATCH=processes).

    The worker never runs student code: for each problem it forks a child that runs it, waits
    for it, and sends a "problem_end" frame saying how it ended and whether it left the sandbox
    as it found it (no process left, nothing changed in the writable folders)."""
    from grader.sandbox import confine as sandbox

    sandbox.libc().prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)  # the children (same uid) cannot open /proc/<worker>/mem
    own_namespace = os.getppid() == 1  # our PID namespace holds only init, us and what we fork
    before = view_state() if own_namespace else None
    for index, problem in enumerate(request["batch"]):
        if index and not _read_go(go_fd):
            return
        pid = os.fork()
        if pid == 0:
            try:
                sandbox.libc().prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # as a job's child has it
                reseed()
                serve({**request, **problem, "calls": request["calls"][index]}, channel)
            except BaseException as exc:  # noqa: BLE001 - report, then leave
                report_crash(channel, exc)
            finally:
                flush_output()
                os._exit(0)
        code = os.waitstatus_to_exitcode(os.waitpid(pid, 0)[1])  # PEP 475: retried on EINTR
        clean = code == 0 and own_namespace and not _others_alive() and view_state() == before
        channel.send({"type": "problem_end", "index": index, "exit": code, "clean": clean})
        if not clean:
            return


PR_SET_DUMPABLE = 4


def _read_go(fd: int) -> bool:
    try:
        return os.read(fd, 1) != b""
    except OSError:
        return False


def _others_alive(tries: int = 5) -> bool:
    """Whether a process other than init and this worker is in our PID namespace (a problem's
    orphan still running). Zombies are dead: init reaps them, so look a few times."""
    for attempt in range(tries):
        others = [n for n in os.listdir("/proc") if n.isdigit() and int(n) not in (1, os.getpid())]
        if not others:
            return False
        if attempt + 1 < tries:
            import time

            time.sleep(0.01)
    return True


def view_state() -> list[tuple]:
    """What a problem could leave behind for the next in the filesystem view: every entry of the
    writable tmpfs mounts ("/" with the work folder and /tmp, and /dev), with its inode, size and
    times (ctime changes with any write or chmod and cannot be set back). Device nodes count by
    name and inode only (writing /dev/null touches nothing)."""
    import stat

    roots = [r for r in ("/", "/dev") if os.path.isdir(r)]
    devices = {os.lstat(r).st_dev for r in roots}
    found, stack = [], list(roots)
    while stack:
        folder = stack.pop()
        try:
            entries = list(os.scandir(folder))
        except OSError:
            found.append((folder, "unreadable"))
            continue
        for entry in entries:
            try:
                st = entry.stat(follow_symlinks=False)
            except OSError:
                found.append((entry.path, "gone"))
                continue
            if stat.S_ISDIR(st.st_mode) or stat.S_ISREG(st.st_mode):
                found.append((entry.path, st.st_mode, st.st_ino, st.st_size, st.st_mtime_ns, st.st_ctime_ns))
            else:
                found.append((entry.path, st.st_mode, st.st_ino))
            if stat.S_ISDIR(st.st_mode) and st.st_dev in devices and entry.path not in roots:
                stack.append(entry.path)
    for root in roots:
        st = os.lstat(root)
        found.append((root, st.st_mode, st.st_ino, st.st_mtime_ns, st.st_ctime_ns))
    return sorted(found, key=repr)


def reseed(cuda: bool = False) -> None:
    """Fresh random state, as a fresh interpreter would have (not a copy of the parent's).

    Without `cuda` only torch's CPU generator is seeded: `torch.manual_seed` also queues the
    seeding of every CUDA device, and records a formatted stack trace to do it, about 3.5 ms per
    process (there are six per student in a class run). The template never initialises CUDA, so
    a child that does gets freshly made CUDA generators anyway."""
    import random

    random.seed()
    numpy = sys.modules.get("numpy")
    if numpy is not None:
        numpy.random.seed(int.from_bytes(os.urandom(4), "little"))
    torch = sys.modules.get("torch")
    if torch is not None:
        seed = int.from_bytes(os.urandom(8), "little") & ((1 << 63) - 1)
        if cuda:
            torch.manual_seed(seed)
        else:
            torch.default_generator.manual_seed(seed)


def flush_output() -> None:
    for stream in (sys.stdout, sys.stderr):
        if stream is not None:
            try:
                stream.flush()
            except Exception:  # noqa: BLE001 - a student may have replaced or closed the stream
                pass


def read_request(fd: int = 0) -> dict:
    from grader.sandbox import codec

    chunks = []
    while True:
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            break
        chunks.append(chunk)
    header, calls = codec.decode(b"".join(chunks), max_bytes=1 << 34, from_grader=True)
    header["calls"] = calls
    return header


def main() -> None:
    """Entry point of a fresh child: `python -I -c 'from grader.sandbox.child import main; main()'`."""
    request = read_request(0)
    os.close(0)
    os.open(os.devnull, os.O_RDONLY)  # becomes fd 0: the student reads nothing from the parent
    run_request(request)


def run_request(request: dict) -> None:
    """Confine this process, then serve the request; never returns."""
    from grader.sandbox import confine as sandbox

    channel = Channel(request["result_fd"])
    try:
        config = dict(request.get("sandbox") or {})
        config["keep_fds"] = [0, 1, 2, channel.fd]  # anything else inherited (a fork server's sockets) goes
        config["result_fd"] = channel.fd
        from grader.sandbox import codec  # noqa: F401 - imported before confining: the worker never needs new grader files

        go_fd = request.get("go_fd") if request.get("batch") else None
        limits = request["limits"]
        if go_fd is not None:
            config["keep_fds"].append(go_fd)
            if not request.get("problem_processes"):  # one process runs every problem: each gets its CPU (serve_batch)
                limits = {**limits, "cpu": len(request["batch"]) * sandbox.cpu_seconds(limits)}
        sandbox.confine(limits, request["workdir"], config)
        if go_fd is not None:
            serve_batch(request, channel, go_fd)
        else:
            serve(request, channel)
    except BaseException as exc:  # noqa: BLE001 - report, then leave without running anything else
        report_crash(channel, exc)
    finally:
        sys.stdout.flush() if sys.stdout else None
        sys.stderr.flush() if sys.stderr else None
        os._exit(0)
