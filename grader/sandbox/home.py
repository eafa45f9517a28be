"""Where children (and the fork server's template) import `grader` from.

Apart from the runner so that starting the template needs no more than the standard library:
`grader check` starts it first, before this process has imported numpy or torch (issue 18).
"""
from __future__ import annotations

import hashlib
import os
import tempfile
from pathlib import Path


def grader_import_root() -> str:
    """A folder holding only a link to this package: the child can import `grader` and
    nothing else that sits beside it in a checkout (reference/, problems/)."""
    package = Path(__file__).resolve().parents[1]
    digest = hashlib.sha256(str(package).encode()).hexdigest()[:12]
    root = Path(tempfile.gettempdir(), f"grader-import-{os.getuid()}-{digest}")
    link = root / "grader"
    if not (link.is_symlink() and link.resolve() == package):
        root.mkdir(mode=0o755, exist_ok=True)
        tmp = root / f".grader-{os.getpid()}"
        tmp.unlink(missing_ok=True)
        tmp.symlink_to(package, target_is_directory=True)
        os.replace(tmp, link)
    return str(root)


# What children (and the fork server's template) put on sys.path to import grader.
GRADER_HOME = grader_import_root()
