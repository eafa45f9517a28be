"""Expected outputs kept on disk between runs: the reference's output on each case, per problem and seed
(and, at the end, which spec data passed its JSON Schema).

They change only when the spec, a reference module, the seed, the engine (the digest of its
source that the class cache keys on too), the versions of torch, numpy or Python, or the
processor change (float results can differ in their last bits from one CPU to another: torch
and numpy pick their kernels by the SIMD instructions there are, AVX2 or AVX-512), and all of
that is in the key: a changed reference or spec is a different key, never a stale hit. The
values are secrets (hidden cases' expected outputs), so the cache lives in the grader's own
folder (`locations.cache_folder`: GRADER_CACHE_DIR, else $XDG_CACHE_HOME/grader or
~/.cache/grader), made 0700 and hidden from every child like the bank
(`locations.private_paths`); a folder that others could write to is not used at all.

A file is one codec frame (grader.sandbox.codec: plain data, no pickle) after the SHA-256 of
that frame: a truncated or corrupt file fails the check and is recomputed, never believed and
never a crash. A value is stored only when it reads back identical (types, dtypes, shapes and
bits); anything else is recomputed every time, as without the cache.
"""
from __future__ import annotations

import functools
import hashlib
import json
import os
import platform
import stat
import sys
import tempfile
import threading
from pathlib import Path
from typing import Any, Callable

from grader.digests import engine_version, tree_digest  # shared with the class cache
from grader.problems.locations import cache_folder

FORMAT = 1
SUBFOLDER = f"expected-v{FORMAT}"
MAX_FILE_BYTES = 1 << 30
MAX_ENTRIES = 2000  #: past this many files, a write removes the least recently written half
MAX_KEPT_MISTAKE_BYTES = 1 << 20  #: a known mistake's output larger than this is computed each run instead


def usable_folder(folder: Path | None = None) -> Path | None:
    """The cache folder, created 0700, or None when it cannot be trusted (someone else's, or
    writable by others and not ours to fix) or made."""
    folder = folder or cache_folder()
    try:
        folder.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = os.lstat(folder)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid():
            return None
        if stat.S_IMODE(info.st_mode) & 0o077:
            os.chmod(folder, 0o700)
        target = folder / SUBFOLDER
        target.mkdir(mode=0o700, exist_ok=True)
        info = os.lstat(target)
        if not stat.S_ISDIR(info.st_mode) or info.st_uid != os.geteuid() or stat.S_IMODE(info.st_mode) & 0o077:
            return None
        return target
    except OSError:
        return None


def library_versions() -> str:
    import numpy

    try:
        import torch
    except ImportError:  # pragma: no cover - numpy-only installs
        torch = None
    return (f"python {platform.python_version()} {platform.machine()} numpy {numpy.__version__} "
            f"torch {getattr(torch, '__version__', None)}")


#: /proc/cpuinfo fields that say which processor this is and which instructions it has (x86, Arm, others)
CPU_FIELDS = ("vendor_id", "cpu family", "model", "model name", "stepping", "flags", "CPU implementer",
              "CPU architecture", "CPU variant", "CPU part", "Features", "isa", "cpu", "uarch")
#: what torch and numpy read to use fewer SIMD instructions than the processor has
SIMD_SETTINGS = ("ATEN_CPU_CAPABILITY", "NPY_DISABLE_CPU_FEATURES", "NPY_ENABLE_CPU_FEATURES")


@functools.lru_cache(maxsize=None)
def cpu_model() -> str:
    """The processor, as far as float results go: its model name and a digest of its model
    numbers and instruction-set flags (the first processor of /proc/cpuinfo: microseconds to
    read), and the settings that make torch or numpy use fewer SIMD instructions. Elsewhere
    than Linux, what `platform` knows."""
    fields = {name: os.environ.get(name) for name in SIMD_SETTINGS if os.environ.get(name) is not None}
    try:
        with open("/proc/cpuinfo", "rb") as fh:
            first = fh.read(1 << 20).decode("utf-8", "replace").split("\n\n", 1)[0]
    except OSError:
        first = ""
    for line in first.splitlines():
        name, _, value = line.partition(":")
        if name.strip() in CPU_FIELDS:
            fields[name.strip()] = " ".join(value.split())
    if not first:  # platform.processor() runs `uname -p` on Linux (milliseconds): only where there is no cpuinfo
        fields["processor"] = platform.processor()
    model = fields.get("model name") or fields.get("processor") or platform.machine()
    digest = hashlib.sha256(json.dumps(fields, sort_keys=True).encode()).hexdigest()[:16]
    return f"cpu {model} {digest}"


def problem_key(problem, reference_dir: Path | str, seed: int) -> str:
    """The key of a problem's expected outputs: spec, reference modules, seed, engine, libraries, CPU."""
    digest = hashlib.sha256()
    for part in (f"format {FORMAT}", engine_version(), library_versions(), cpu_model(), f"seed {seed}", problem.id,
                 json.dumps(problem.spec, sort_keys=True, default=repr),
                 tree_digest(Path(reference_dir))):  # every reference module, names and contents
        digest.update(part.encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()


class ExpectedOutputs:
    """The expected outputs of one problem and seed: read from the cache, computed where missing,
    written back by `save()`. Without a usable cache folder it simply computes."""

    def __init__(self, key: str | None, folder: Path | None):
        self.key = key
        self.path = folder / f"{key}.grd" if folder and key else None
        self.values: dict[str, Any] = read(self.path, key) if self.path else {}
        self.hits = 0
        self._computed: list[str] = []
        #: names whose values are known to read back identical: read from the file, or checked already
        self._plain: set[str] = set(self.values)
        self._saving = threading.Lock()  #: class runs sharing prepared cases (the course service) may save at once

    @classmethod
    def for_problem(cls, problem, bank, seed: int) -> "ExpectedOutputs":
        folder = usable_folder()
        try:
            key = problem_key(problem, bank.reference_dir, seed) if folder else None
        except OSError:
            key = None
        return cls(key, folder)

    def get(self, name: str, compute: Callable[[], Any]) -> Any:
        """The expected output called `name`, from the cache or `compute()`."""
        if name in self.values:
            self.hits += 1
            return self.values[name]
        value = compute()
        self.values[name] = value
        self._computed.append(name)
        return value

    def get_if_plain(self, name: str, compute: Callable[[], Any]) -> Any:
        """As `get`, for a value that may not read back identical (a known mistake's output, or
        its marker that it cannot run): only one that does, and is not large
        (MAX_KEPT_MISTAKE_BYTES), is kept, so it never stops the rest from being saved and never
        makes the file large. Computed after `save`, such values are written by the next `save`."""
        if name in self.values:
            self.hits += 1
            return self.values[name]
        value = compute()
        if self.path is not None and round_trips(value, MAX_KEPT_MISTAKE_BYTES):
            self.values[name] = value
            self._plain.add(name)
            self._computed.append(name)
        return value

    def save(self) -> None:
        """Write the values when any was computed here (atomically; a failure only skips the cache)."""
        if self.path is None or not self._computed:
            return
        with self._saving:
            if not self._computed:
                return
            keep = {name: value for name, value in list(self.values.items())
                    if name in self._plain or round_trips(value)}
            if set(self._computed) - set(keep):
                return  # a value that does not read back identical: computed each time
            write(self.path, self.key, keep)
            self._plain.update(keep)
            self._computed = []


def read(path: Path, key: str) -> dict[str, Any]:
    """The values stored for `key`, or {} when the file is missing, truncated, corrupt or another key's."""
    from grader.sandbox import codec

    try:
        with open(path, "rb") as fh:
            data = fh.read(MAX_FILE_BYTES + 1)
        digest, frame = data[:32], data[32:]
        if len(data) > MAX_FILE_BYTES or hashlib.sha256(frame).digest() != digest:
            return {}
        header, values = codec.decode(frame, max_bytes=MAX_FILE_BYTES, restore_devices=False)
        if header.get("key") != key or not isinstance(values, dict):
            return {}
        return values
    except Exception:  # noqa: BLE001 - whatever is wrong with the file, the values are recomputed
        return {}


def write(path: Path, key: str, values: dict[str, Any]) -> None:
    from grader.sandbox import codec

    try:
        frame = codec.encode(values, header={"key": key, "format": FORMAT})
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-")  # 0600
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(hashlib.sha256(frame).digest() + frame)
            os.replace(tmp, path)
        except BaseException:
            os.unlink(tmp)
            raise
        prune(path.parent)
    except Exception:  # noqa: BLE001 - a cache that cannot be written is only slower
        pass


def prune(folder: Path, keep: int = MAX_ENTRIES) -> None:
    """Bound the folder (every engine edit and seed adds entries): past `keep` files, the oldest
    written go until half remain."""
    names = os.listdir(folder)
    if len(names) <= keep:
        return
    files = sorted((folder / n for n in names), key=lambda p: p.stat().st_mtime_ns)
    for old in files[: len(files) - keep // 2]:
        old.unlink(missing_ok=True)


def round_trips(value: Any, max_bytes: int | None = None) -> bool:
    """Whether `value` reads back from the cache identical: same types, dtypes, shapes and bits
    (and, with `max_bytes`, takes no more than that in the file)."""
    from grader.sandbox import codec

    try:
        frame = codec.encode(value)
        if max_bytes is not None and len(frame) > max_bytes:
            return False
        _, back = codec.decode(frame, restore_devices=False)
    except Exception:  # noqa: BLE001 - not a plain value (an object the codec does not carry)
        return False
    return identical(value, back)


def identical(a: Any, b: Any) -> bool:
    if type(a) is not type(b):
        return False
    torch = sys.modules.get("torch")
    if torch is not None and type(a) is torch.Tensor:
        return (a.dtype == b.dtype and a.shape == b.shape and a.device == b.device
                and a.requires_grad == b.requires_grad and _bits(a) == _bits(b))
    import numpy as np

    if isinstance(a, (np.ndarray, np.generic)):
        return a.dtype == b.dtype and np.shape(a) == np.shape(b) and np.asarray(a).tobytes() == np.asarray(b).tobytes()
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(identical(x, y) for x, y in zip(a, b))
    if isinstance(a, dict):
        return list(a) == list(b) and all(identical(a[k], b[k]) for k in a)
    if isinstance(a, float):
        return a == b or (a != a and b != b)  # NaN reads back as NaN
    return a == b


def _bits(tensor) -> bytes:
    import torch

    flat = tensor.detach().contiguous().reshape(-1)
    return flat.view(torch.uint8).numpy().tobytes() if flat.numel() else b""


# ---------------------------------------------------------------- specs known valid

VALID_SUBFOLDER = f"valid-specs-v{FORMAT}"


def valid_before(data: Any, schema: dict) -> bool | str | None:
    """True when this engine found `data` valid against `schema` before; else the token to pass
    to `remember_valid` once it is (None where there is no usable cache folder)."""
    folder = usable_folder()
    if folder is None:
        return None
    try:
        text = json.dumps([engine_version(), schema, data], sort_keys=True, allow_nan=True)
    except (TypeError, ValueError):  # data YAML can hold but JSON cannot (dates, odd keys): checked each time
        return None
    token = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
    marker = folder.parent / VALID_SUBFOLDER / token
    return True if marker.is_file() else str(marker)


def remember_valid(token: bool | str | None) -> None:
    if not isinstance(token, str):
        return
    marker = Path(token)
    try:
        marker.parent.mkdir(mode=0o700, exist_ok=True)
        marker.touch()
        prune(marker.parent)
    except OSError:
        pass
