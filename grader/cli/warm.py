"""`grader check`'s child, started before this process imports torch.

A fresh child costs an `import torch` (1.5 to 2 s), and so does the grader's own import of it;
one after the other they doubled the time of a check (issue 18). Started first, the fork
server's template (grader.sandbox.forkserver: a fresh `python -I` that imports torch, numpy and
the child side of the grader, nothing secret, then waits) imports torch on another core while
this process imports the engine, loads the problem and computes the expected outputs. The child
that runs the submission is then forked from the template in milliseconds and confines itself
exactly as a fresh child does, with the job's limits, cgroups and hidden folders, before any
student code runs. Where the template cannot start (not Linux), each job gets a fresh Python.
"""
from __future__ import annotations

import threading


class WarmExecutor:
    """The executor of `grader check`: its template starts at once, in a background thread, and
    so does the probe of what the sandbox can do here (a throwaway `python -I`, 0.1 s, which the
    result would otherwise wait for)."""

    def __init__(self):
        self._lock = threading.Lock()
        self._closing = False
        self._server = None  # the fork server, once the thread has made it
        self._inner = None   # what runs the jobs once the start is over
        self._starting = threading.Thread(target=self._start, name="grader-template-start", daemon=True)
        self._starting.start()

    def _start(self) -> None:
        # Only the standard library until the template's process is started: no numpy, no torch.
        from grader.sandbox import confine
        from grader.sandbox.forkserver import ForkServer, ForkServerError, ForkServerExecutor

        with self._lock:
            if self._closing:
                return
            self._server = ForkServer()  # no huge pages: a check forks a child or two
        threading.Thread(target=confine.protections, name="grader-sandbox-probe", daemon=True).start()
        try:
            self._server.start()
            self._inner = ForkServerExecutor(self._server)
        except (ForkServerError, OSError):
            pass  # each job gets a fresh Python (run)

    def run(self, job):
        self._starting.join()
        if self._inner is None:
            from grader.sandbox.runner import SubprocessExecutor

            self._inner = SubprocessExecutor()
        return self._inner.run(job)

    def close(self) -> None:
        """Stop the template. One still importing is killed at once (a check that ran no child
        does not wait for it); no template and no template folder outlive the command."""
        with self._lock:
            self._closing = True
            server = self._server
        if server is not None:
            server.abandon_start()
        self._starting.join()
        if server is not None:
            server.close()
