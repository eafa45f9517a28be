"""Resource limits for a student's child process: defaults, per-problem and command-line overrides."""
from __future__ import annotations

from dataclasses import dataclass, fields, replace


@dataclass(frozen=True)
class Limits:
    """What one submission's child may use. Names match the spec's `limits` fields."""

    time: float = 10.0          #: wall seconds per case
    load_time: float = 60.0     #: wall seconds to start the child and load the submission
    cpu: float = 120.0          #: CPU seconds for the whole child
    memory_mb: int = 4096       #: address space (torch needs ~1 GB just to import)
    processes: int = 64         #: processes/threads the child may have at once
    file_size_mb: int = 64      #: largest file the child may write
    disk_mb: int = 256          #: all files written together (the work folder is a tmpfs of this size)
    open_files: int = 256       #: open file descriptors
    output_kb: int = 64         #: captured stdout/stderr kept, each; the rest is counted and dropped
    result_mb: int = 512        #: largest result the child may send back
    gpu_memory_mb: int = 8192   #: CUDA memory a GPU child may allocate (set inside the child: see threat model)

    def with_overrides(self, overrides: dict | None) -> "Limits":
        """A copy with the non-None values of `overrides` applied (unknown keys ignored)."""
        if not overrides:
            return self
        names = {f.name for f in fields(self)}
        return replace(self, **{k: v for k, v in overrides.items() if k in names and v is not None})

    def as_dict(self) -> dict:
        """`dataclasses.asdict(self)`: every field is a number, so no deep copy is needed (asdict's
        costs about 15 us, and a class run asks for it several times per job)."""
        return {name: getattr(self, name) for name in _FIELD_NAMES}


_FIELD_NAMES = tuple(f.name for f in fields(Limits))
DEFAULT_LIMITS = Limits()
