"""What one problem of a batch could leave behind in the worker's process for the next problem.

A batch's worker (child.serve_batch) runs one student's problems one after another in its own
process. Before the first problem it takes a `Snapshot`; after each problem it first puts back
what the problem may change as a matter of course (`Undo`: sys.path, the environment, warnings
filters, the student's own modules, torch's default dtype and grad mode), then compares a new
snapshot with the first. Anything else that differs (a monkeypatched torch or numpy function, a
thread left running, a signal handler or timer, a changed limit, an open descriptor, a torch or
numpy setting, a replaced sys.stdout...) ends the batch there: that problem and the rest are
graded again alone, each in a fresh process (runner.run_batch). So a problem's result is the one
it would get alone, except through state this cannot see (the internals of a library the student
changed by hand); that can only reach the same student's later problems, never another student.
"""
from __future__ import annotations

import _signal
import decimal  # imported here, so in the template: its context is in every snapshot
import operator
import os
import signal
import sys
import types

# The checks' own references: a problem that replaces builtins.all or operator.is_ must not blind them.
all, any, map, len, sorted, isinstance = all, any, map, len, sorted, isinstance  # noqa: A001
vars, id, type, dict, getattr, hasattr = vars, id, type, dict, getattr, hasattr  # noqa: A001
_is = operator.is_

#: Namespaces whose entries are compared by identity (a monkeypatch replaces one): module name,
#: then an attribute path to a class inside it, or "" for the module itself.
WATCHED = [("builtins", ""), ("math", ""), ("random", ""), ("time", ""), ("os", ""), ("copy", ""),
           ("numpy", ""), ("numpy", "ndarray"), ("numpy.linalg", ""), ("numpy.random", ""),
           ("torch", ""), ("torch", "Tensor"), ("torch", "_C._TensorBase"), ("torch", "_C._VariableFunctions"),
           ("torch.nn", ""), ("torch.nn.functional", ""), ("torch.nn", "Module"), ("torch.nn", "Parameter"),
           ("torch.autograd", ""), ("torch.autograd", "Function"), ("torch.linalg", ""), ("torch.fft", ""),
           ("torch.special", ""), ("torch.optim", ""), ("torch.optim", "Optimizer")]


def _watched_objects() -> dict[str, object]:
    found = {}
    for module_name, path in WATCHED:
        obj = sys.modules.get(module_name)
        for part in path.split(".") if path else []:
            obj = getattr(obj, part, None)
        if obj is not None and hasattr(obj, "__dict__"):
            found[f"{module_name}:{path}"] = obj
    return found


def _dict_version_reader():
    """A function giving the version tag CPython keeps in a dict (PEP 509: a new value on every
    change), read in place, or None where this interpreter does not keep one there (checked on a
    probe module and a probe class). Reading a tag touches no entry: copying a namespace writes the
    reference count of every object in it, and in a process forked from the template that copies
    each page those objects sit on (the first snapshot cost 5-10 ms of CPU per student)."""
    try:
        import ctypes

        offset = 2 * ctypes.sizeof(ctypes.c_void_p) + ctypes.sizeof(ctypes.c_ssize_t)  # after the header and ma_used
        mapping_at = 2 * ctypes.sizeof(ctypes.c_void_p)  # a mappingproxy's dict, after its header

        def underlying(namespace) -> int:
            if type(namespace) is dict:
                return id(namespace)
            if type(namespace) is types.MappingProxyType:
                return ctypes.c_void_p.from_address(id(namespace) + mapping_at).value
            raise TypeError(type(namespace).__name__)

        def version(obj) -> int:
            return ctypes.c_uint64.from_address(underlying(vars(obj)) + offset).value

        probe_module, probe_class = types.ModuleType("probe"), type("Probe", (), {})
        tags = []
        for obj in (probe_module, probe_class):
            first = version(obj)
            setattr(obj, "x", 1)
            second = version(obj)
            getattr(obj, "x")
            third = version(obj)
            setattr(obj, "x", 2)
            tags.append(first != second and second == third and version(obj) != third)
        return version if all(tags) else None
    except Exception:  # noqa: BLE001 - another interpreter: every namespace is copied and compared
        return None


_version = _dict_version_reader()
#: What `remember_namespaces` saw in the template, inherited by every child: key -> (version, copy)
_REMEMBERED: dict[str, tuple[int, dict]] = {}


def remember_namespaces() -> None:
    """In the fork server's template, after its imports: copy the watched namespaces once, so that a
    worker whose namespaces still have the same versions takes its snapshot without copying them."""
    if _version is None:
        return
    for key, obj in _watched_objects().items():
        _REMEMBERED[key] = (_version(obj), dict(vars(obj)))


class _Namespace:
    """A watched namespace as it was: the object, its dict's version (None: not readable here) and
    a copy of its entries (the objects themselves, so that a freed one's id cannot be reused)."""

    def __init__(self, key: str, obj):
        self.obj = obj
        self.version = _version(obj) if _version is not None else None
        remembered = _REMEMBERED.get(key)
        if remembered is not None and self.version is not None and remembered[0] == self.version:
            self.entries = remembered[1]
        else:
            self.entries = dict(vars(obj))

    def changes(self, key: str) -> list[str]:
        if self.version is not None and _version(self.obj) == self.version:
            return []  # not changed at all since the snapshot
        before, after = self.entries, dict(vars(self.obj))
        if before.keys() == after.keys() and all(map(_is, before.values(), after.values())):
            return []  # changed and changed back, or a version this interpreter moves on reads
        found = [f"{key}.{name} replaced" for name, value in before.items()
                 if name not in after or (after[name] is not value and not _wraps(after[name], value))]
        found += [f"{key}.{name} added" for name, value in after.items()
                  if name not in before and not isinstance(value, types.ModuleType)]  # an imported submodule is fine
        return found


def _wraps(new, old) -> bool:
    """Whether `new` is a library's wrapper around `old` (functools.wraps keeps it as __wrapped__):
    torch._dynamo, imported by any optimizer, so wraps torch.manual_seed. A student can do the same;
    that changes nothing the student's own code could not do."""
    try:
        return vars(new).get("__wrapped__") is old
    except TypeError:
        return False


def _namespaces() -> dict[str, _Namespace]:
    return {key: _Namespace(key, obj) for key, obj in _watched_objects().items()}


#: Modules whose entry in sys.modules must stay the very same object (the watched ones, and what
#: the worker itself imports); a student's code has no business replacing or removing any of them.
CORE_MODULES = sorted({name for name, _ in WATCHED} | {"sys", "importlib", "json", "io", "warnings"})


def _library_settings() -> dict:
    """torch's and numpy's process-wide switches a student's code may flip."""
    settings: dict = {}
    torch = sys.modules.get("torch")
    if torch is not None:
        for name in ("get_default_dtype", "is_grad_enabled", "is_inference_mode_enabled",
                     "are_deterministic_algorithms_enabled", "is_deterministic_algorithms_warn_only_enabled",
                     "get_num_threads", "get_num_interop_threads", "is_anomaly_enabled", "is_anomaly_check_nan_enabled",
                     "get_float32_matmul_precision", "is_warn_always_enabled"):  # set_default_device: the mode stack below
            getter = getattr(torch, name, None)
            if getter is not None:
                try:
                    settings[f"torch.{name}"] = getter()
                except Exception as exc:  # noqa: BLE001 - a build without it
                    settings[f"torch.{name}"] = type(exc).__name__
        backends = getattr(torch, "backends", None)
        for backend, flags in (("cudnn", ("enabled", "benchmark", "deterministic", "allow_tf32")),
                               ("mkldnn", ("enabled",)), ("opt_einsum", ("enabled", "strategy"))):
            module = getattr(backends, backend, None)
            for flag in flags:
                settings[f"torch.backends.{backend}.{flag}"] = getattr(module, flag, None)
        for name in ("_len_torch_function_stack", "_len_torch_dispatch_stack", "_is_torch_function_enabled"):
            getter = getattr(getattr(torch, "_C", None), name, None)
            if getter is not None:
                settings[f"torch._C.{name}"] = getter()
        for name in ("is_autocast_cpu_enabled", "is_autocast_enabled"):
            getter = getattr(torch, name, None)
            if getter is not None:
                try:
                    settings[f"torch.{name}"] = getter()
                except Exception as exc:  # noqa: BLE001 - a build where it takes a device
                    settings[f"torch.{name}"] = type(exc).__name__
        hooks = sys.modules.get("torch.nn.modules.module")  # hooks for every module: torch.nn.modules.module.register_module_*
        for name in sorted(vars(hooks)) if hooks is not None else []:
            if name.startswith("_global_") and hasattr(vars(hooks)[name], "__len__"):
                settings[f"torch.nn.modules.module.{name}"] = len(vars(hooks)[name])
    numpy = sys.modules.get("numpy")
    if numpy is not None:  # (its error handling and print options are put back: Undo)
        settings["numpy.geterrcall"] = numpy.geterrcall()
        settings["numpy.getbufsize"] = numpy.getbufsize()
    context = decimal.getcontext()
    settings["decimal context"] = (context.prec, context.rounding, context.Emin, context.Emax, context.capitals,
                                   context.clamp, sorted(str(t) for t, on in context.traps.items() if on))
    return settings


def _interpreter() -> dict:
    import gc
    import threading

    umask = os.umask(0o077)
    os.umask(umask)
    state = {
        "streams": [sys.stdin, sys.stdout, sys.stderr, sys.__stdin__, sys.__stdout__, sys.__stderr__],
        "hooks": [sys.displayhook, sys.excepthook, sys.unraisablehook, sys.breakpointhook,
                  sys.gettrace(), sys.getprofile()],
        "thread_hooks": [getattr(threading, "_trace_hook", None), getattr(threading, "_profile_hook", None),
                         threading.excepthook],
        "import_system": [list(sys.path_hooks), __import__],
        "limits": [sys.getrecursionlimit(), sys.getswitchinterval(), getattr(sys, "get_int_max_str_digits", lambda: 0)()],
        "gc": [gc.isenabled(), gc.get_threshold(), gc.get_debug(), len(gc.callbacks)],
        "threads": threading.active_count(),
        "umask": umask,
        "modules": {name: sys.modules.get(name) for name in CORE_MODULES},
        "meta_path": list(sys.meta_path),
    }
    return state


def _os_state() -> dict:
    import resource

    state: dict = {}
    handlers = {}
    for sig in _signal.valid_signals():
        try:
            handlers[int(sig)] = _signal.getsignal(sig)  # signal.getsignal's enum conversion costs 10x
        except (ValueError, OSError):
            continue
    state["signal handlers"] = handlers
    state["signal mask"] = sorted(int(s) for s in _signal.pthread_sigmask(signal.SIG_BLOCK, []))
    state["timers"] = [signal.getitimer(t) for t in (signal.ITIMER_REAL, signal.ITIMER_VIRTUAL, signal.ITIMER_PROF)]
    rlimits = {}
    for name in dir(resource):
        if name.startswith("RLIMIT_") and name != "RLIMIT_CPU":  # the worker sets CPU's soft limit per problem
            try:
                rlimits[name] = resource.getrlimit(getattr(resource, name))
            except (ValueError, OSError):
                continue
    state["rlimits"] = rlimits
    state["cpu hard limit"] = resource.getrlimit(resource.RLIMIT_CPU)[1]
    state["priority"] = os.getpriority(os.PRIO_PROCESS, 0)
    state["affinity"] = sorted(os.sched_getaffinity(0))
    state["tasks"] = sorted(os.listdir("/proc/self/task"))  # threads the interpreter does not know of
    descriptors = {}
    for name in os.listdir("/proc/self/fd"):
        try:
            st = os.stat(int(name))
            descriptors[name] = (st.st_dev, st.st_ino, os.get_inheritable(int(name)))
        except OSError:
            continue  # the listing's own descriptor
    state["descriptors"] = descriptors
    with open("/proc/self/status") as fh:
        state["status"] = [line for line in fh if line.startswith(("Seccomp", "NoNewPrivs", "Cap", "Uid", "Gid", "Groups"))]
    return state


class Snapshot:
    """The worker's process state that a problem could change and the next would see."""

    def __init__(self, namespaces: bool = True):
        """`namespaces=False`: for a later snapshot given to `differences`, which looks at the
        namespaces themselves."""
        self.namespaces = _namespaces() if namespaces else {}
        self.settings = _library_settings()
        self.interpreter = _interpreter()
        self.os_state = _os_state() if sys.platform.startswith("linux") else {}

    def differences(self, later: "Snapshot") -> list[str]:
        """What `later` shows changed since this snapshot (empty: the process is as it was)."""
        found = []
        for key, before in self.namespaces.items():
            found += before.changes(key)
        for name, value in self.settings.items():
            if later.settings.get(name) != value:
                found.append(f"{name}: {value!r} -> {later.settings.get(name)!r}")
        for name, value in self.interpreter.items():
            after = later.interpreter[name]
            if name == "modules":
                found += [f"sys.modules[{m!r}] replaced or removed" for m, module in value.items()
                          if module is not None and after.get(m) is not module]  # (one imported since is fine)
            elif name == "meta_path":
                if not (_same(value, after[:len(value)]) and all(map(_from_a_library, after[len(value):]))):
                    found.append("sys.meta_path changed")
            elif not _same(value, after):
                found.append(f"{name} changed")
        for name, value in self.os_state.items():
            if later.os_state.get(name) != value:
                found.append(f"{name} changed")
        return found


def _from_a_library(finder) -> bool:
    """A finder a library appended to sys.meta_path on import (six's, when matplotlib or pandas
    is imported): its class comes from a file that the forbidden-API guard counts as a library's."""
    from grader.sandbox import forbidden_runtime

    path = getattr(sys.modules.get(type(finder).__module__), "__file__", None)
    return isinstance(path, str) and forbidden_runtime.Guard(forbidden_runtime.library_dirs()).is_library(path)


def _same(a, b) -> bool:
    """Lists of objects compared by identity (streams, hooks), anything else by value."""
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, (int, float, str, bool, tuple)) or a is None:
        return a == b
    return a is b


class Undo:
    """What a problem changes as a matter of course, remembered before it runs and put back after:
    the worker's own serve() appends to sys.path and installs the forbidden-API guard, and students'
    modules set environment variables, filter warnings, set torch's default dtype, numpy's error
    handling and print options, and so on."""

    #: modules the worker itself makes for a problem (child.load_module, child.install_python2_names)
    MADE_FOR_THE_PROBLEM = ("submission", "past", "past.builtins")

    def __init__(self, student_folder: str):
        import warnings

        self.student_folder = os.path.join(os.path.realpath(student_folder), "")
        self.path = list(sys.path)
        self.argv = list(sys.argv)
        self.environ = dict(os.environ)
        self.warnings = (list(warnings.filters), warnings.showwarning)
        # sys.modules keeps insertion order, so what the problem imports comes after this entry
        # (named by its last entry rather than copied: see _dict_version_reader on copying)
        self.last_module = next(((name, module) for name, module in reversed(sys.modules.items())), None)
        self.lost_modules = False  #: whether restore() could not tell the problem's imports apart
        self.cwd = os.getcwd()
        torch = sys.modules.get("torch")
        self.torch = (torch.get_default_dtype(), torch.is_grad_enabled()) if torch is not None else None
        printing = sys.modules.get("torch._tensor_str")
        self.torch_print = (printing.PRINT_OPTS, dict(vars(printing.PRINT_OPTS))) if printing is not None else None
        numpy = sys.modules.get("numpy")
        self.numpy = (numpy.geterr(), numpy.get_printoptions()) if numpy is not None else None

    def restore(self) -> None:
        import gc
        import warnings

        sys.path[:] = self.path
        sys.argv[:] = self.argv
        if dict(os.environ) != self.environ:
            os.environ.clear()
            os.environ.update(self.environ)
        warnings.filters[:], warnings.showwarning = self.warnings
        getattr(warnings, "_filters_mutated", lambda: None)()  # the module's cache of the filters
        for name in self._imported_since():
            if self._is_students(name, sys.modules[name]):
                del sys.modules[name]  # the next problem loads its own afresh
        torch = sys.modules.get("torch")
        if self.torch is not None and torch is not None:
            torch.set_default_dtype(self.torch[0])
            torch.set_grad_enabled(self.torch[1])
        if self.torch_print is not None:
            options, saved = self.torch_print
            vars(options).clear()
            vars(options).update(saved)
        numpy = sys.modules.get("numpy")
        if self.numpy is not None and numpy is not None:
            numpy.seterr(**self.numpy[0])
            numpy.set_printoptions(**self.numpy[1])
        try:
            os.chdir(self.cwd)
        except OSError:
            pass
        gc.collect()  # what the problem's objects held (memory, descriptors of files it left open)

    def _imported_since(self) -> list[str]:
        """The names sys.modules gained since this Undo was made: the entries after the one that was
        last then. If that entry is gone or replaced, the problem's imports cannot be told from the
        rest: nothing is removed and `lost_modules` says so (the check then ends the batch)."""
        found = []
        for name, module in reversed(sys.modules.items()):
            if self.last_module is not None and name == self.last_module[0] and module is self.last_module[1]:
                return found
            found.append(name)
        if self.last_module is not None:
            self.lost_modules = True
            return []
        return found

    def _is_students(self, name: str, module) -> bool:
        """A module the problem's own code brought: loaded from the student's folder, or made by the
        worker for the problem. Anything else stays, a library's module with no file included
        (pyexpat.errors, six.moves): importing it again could fail or register things twice."""
        if name in self.MADE_FOR_THE_PROBLEM:
            return True
        places = [getattr(module, "__file__", None)] + list(getattr(module, "__path__", None) or [])
        return any(isinstance(p, str) and os.path.realpath(p).startswith(self.student_folder) for p in places)
