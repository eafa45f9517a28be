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

from grader.classes.pool import AutoExecutor


class WarmExecutor:
    """The executor of `grader check`: its template starts at once, in a background thread."""

    def __init__(self):
        self._executor = AutoExecutor("fork")
        self._starting = threading.Thread(target=self._start, name="grader-template-start", daemon=True)
        self._starting.start()

    def _start(self) -> None:
        try:
            self._executor.start()
        except Exception:  # noqa: BLE001 - the first job starts it again and reports what failed
            pass

    def run(self, job):
        return self._executor.run(job)  # waits for the start under way

    def close(self) -> None:
        """Stop the template, once its start is over (a check that ran no child waits for it too,
        so that no template and no template folder outlive the command)."""
        self._starting.join()
        self._executor.close()
