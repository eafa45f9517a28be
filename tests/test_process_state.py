"""What one problem of a batch may leave in the worker's process (grader/sandbox/process_state.py):
what the worker puts back (the environment, warnings filters, sys.path, the student's modules,
torch's default dtype and grad mode, the forbidden-API guard), and what ends the batch (each
other kind of change a student's code makes, on purpose or not). Each scenario runs in a process
of its own forked from one that imported torch, as a batch's worker is."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent

#: name -> (code a problem runs, whether the worker finds it as before once it has put back what it puts back)
SCENARIOS = {
    "nothing": ("x = torch.ones(3).sum()", True),
    "a library imported": ("import json.tool, torch.distributions, fractions", True),
    "a module of the student's": ("sys.path.append(STUDENT); import helpers", True),
    "a library module with no file": ("import xml.parsers.expat", True),
    "numpy errors and printing": ("numpy.seterr(all='raise'); numpy.set_printoptions(precision=2)", True),
    "torch printing": ("torch.set_printoptions(precision=2)", True),
    "torch._dynamo imported (it wraps torch.manual_seed)": ("import torch._dynamo", True),
    "a library's finder on sys.meta_path": ("import importlib.machinery; sys.meta_path.append(importlib.machinery.PathFinder())", True),
    "a finder of the student's on sys.meta_path": ("sys.meta_path.append(type('Finder', (), {})())", False),
    "sys.argv": ("sys.argv[:] = ['x', '--y']", True),
    "a global module hook": ("torch.nn.modules.module.register_module_forward_hook(lambda *a: None)", False),
    "autocast": ("torch.set_autocast_enabled('cpu', True)", False),
    "gc debugging": ("import gc; gc.set_debug(gc.DEBUG_SAVEALL)", False),
    "decimal precision": ("import decimal; decimal.getcontext().prec = 5", False),
    "threading.excepthook": ("import threading; threading.excepthook = lambda a: None", False),
    "builtins.all replaced, then torch patched": ("import builtins, operator; builtins.all = lambda i: True; operator.is_ = lambda a, b: True; torch.softmax = None", False),
    "sys.path": ("sys.path.insert(0, '/nowhere')", True),
    "environment": ("os.environ['KMP_DUPLICATE_LIB_OK'] = 'TRUE'; os.environ.pop('HOME', None)", True),
    "warnings filtered": ("import warnings; warnings.filterwarnings('ignore')", True),
    "default dtype": ("torch.set_default_dtype(torch.float64)", True),
    "grad off": ("torch.set_grad_enabled(False)", True),
    "cwd": ("os.chdir('/')", True),
    "forbidden guard": ("guard = forbidden_runtime.install(['torch.softmax', 'Tensor.backward', 'torch.nn.GRUCell'])", True),
    "torch function patched": ("torch.softmax = lambda *a, **k: 0", False),
    "torch.nn.functional patched": ("torch.nn.functional.relu = lambda x: x", False),
    "a Tensor method patched": ("torch.Tensor.exp = lambda self: self", False),
    "numpy patched": ("numpy.linalg.norm = lambda *a, **k: 0.0", False),
    "builtins patched": ("import builtins; builtins.print = lambda *a, **k: None", False),
    "a name stashed in torch": ("torch.my_softmax = torch.softmax", False),
    "torch module replaced in sys.modules": ("sys.modules['torch'] = None", False),
    "an old module removed from sys.modules": ("del sys.modules['json']", False),
    "the last module removed": ("sys.modules.pop(next(reversed(sys.modules)))", False),
    "a submodule imported, then torch patched": ("import torch.distributions; torch.my = 1", False),
    "deterministic algorithms": ("torch.use_deterministic_algorithms(True)", False),
    "anomaly detection": ("torch.autograd.set_detect_anomaly(True)", False),
    "threads": ("torch.set_num_threads(2)", False),
    "a thread left running": ("import threading, time; threading.Thread(target=time.sleep, args=(5,), daemon=True).start()", False),
    "a signal handler": ("import signal; signal.signal(signal.SIGALRM, lambda *a: None)", False),
    "an alarm": ("import signal; signal.setitimer(signal.ITIMER_REAL, 30)", False),
    "a signal blocked": ("import signal; signal.pthread_sigmask(signal.SIG_BLOCK, [signal.SIGTERM])", False),
    "a limit lowered": ("import resource; resource.setrlimit(resource.RLIMIT_NOFILE, (64, 64))", False),
    "a descriptor left open": ("os.open('/dev/null', os.O_RDONLY)", False),
    "stdout replaced": ("import io; sys.stdout = io.StringIO()", False),
    "recursion limit": ("sys.setrecursionlimit(50000)", False),
    "a trace function": ("sys.settrace(lambda *a: None)", False),
    "gc off": ("import gc; gc.disable()", False),
    "an import hook": ("sys.meta_path.insert(0, object())", False),
    "umask": ("os.umask(0)", False),
}

RUNNER = textwrap.dedent("""
    import json, os, sys
    import numpy, torch
    from grader.sandbox import forbidden_runtime, process_state

    import gc
    scenarios = json.loads(sys.argv[1])
    STUDENT = sys.argv[2]
    torch.set_num_threads(1)
    process_state.remember_namespaces()  # as the fork server's template does
    gc.collect()
    gc.freeze()  # as the template does: the worker's collections skip torch's objects
    found = {}
    import operator
    all, is_ = all, operator.is_
    for name, code in scenarios.items():
        read, write = os.pipe()
        if os.fork() == 0:
            os.close(read)
            snapshot = process_state.Snapshot()
            undo = process_state.Undo(STUDENT)
            guard = None
            exec(code)
            forbidden_runtime.uninstall(guard)
            undo.restore()
            changed = snapshot.differences(process_state.Snapshot(namespaces=False))
            if undo.lost_modules:
                changed.append("lost modules")
            import builtins, operator
            builtins.all, operator.is_ = all, is_  # the scenario's own patches out of the test's way
            watched = [getattr(torch.softmax, "__grader_watched__", False), torch.get_default_dtype() == torch.float32,
                       torch.is_grad_enabled(), "helpers" not in sys.modules, "KMP_DUPLICATE_LIB_OK" not in os.environ,
                       "xml.parsers.expat.errors" in sys.modules or "xml.parsers.expat" not in sys.modules]
            os.write(write, json.dumps([changed, watched]).encode())
            os._exit(0)
        os.close(write)
        data = b""
        while chunk := os.read(read, 1 << 16):
            data += chunk
        os.wait()
        found[name] = json.loads(data)
    print(json.dumps(found))
""")


@pytest.fixture(scope="module")
def outcomes(tmp_path_factory):
    if not sys.platform.startswith("linux"):
        pytest.skip("the worker's checks read /proc: Linux only")
    student = tmp_path_factory.mktemp("student")
    (student / "helpers.py").write_text("VALUE = 1\n")
    done = subprocess.run([sys.executable, "-c", RUNNER, json.dumps({k: v[0] for k, v in SCENARIOS.items()}), str(student)],
                          capture_output=True, text=True, timeout=300, cwd=ROOT, env={"PYTHONPATH": str(ROOT), "HOME": "/tmp"})
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout)


@pytest.mark.parametrize("name", SCENARIOS)
def test_what_a_problem_leaves_is_put_back_or_ends_the_batch(outcomes, name):
    changed, watched = outcomes[name]
    if SCENARIOS[name][1]:
        assert changed == [], changed
    else:
        assert changed, f"{name}: not noticed"
    assert watched[0] is False  # no forbidden-API wrapper is left for the next problem
    if name in ("default dtype", "grad off", "a module of the student's", "environment"):
        assert all(watched[1:]), watched
