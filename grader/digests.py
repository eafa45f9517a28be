"""Content digests that key the grader's caches: a folder's files, the engine's own source.

Low in the layout so that the class result cache (grader/classes/cache.py) and the
expected-outputs cache (grader/problems/expected_cache.py) share one definition of "the same
engine" and "the same folder"."""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from grader import __version__


def digest(*parts: bytes) -> str:
    """SHA-256 of the parts, each preceded by its length: ("ab", "c") and ("a", "bc") differ."""
    h = hashlib.sha256()
    for part in parts:
        h.update(len(part).to_bytes(8, "big"))
        h.update(part)
    return h.hexdigest()


def tree_digest(root: Path, patterns: tuple[str, ...] = ("*.py",)) -> str:
    """A digest of every matching file under `root` (names and contents)."""
    parts = []
    if root.is_dir():
        for pattern in patterns:
            for path in sorted(root.rglob(pattern)):
                if "__pycache__" in path.parts or not path.is_file():
                    continue
                parts += [path.relative_to(root).as_posix().encode(), path.read_bytes()]
    return digest(*parts)


@functools.lru_cache(maxsize=None)
def engine_version() -> str:
    """The package version plus a digest of its own source: editing the engine invalidates results."""
    package = Path(__file__).resolve().parent
    return f"{__version__}+{tree_digest(package, ('*.py', '*.json'))[:16]}"
