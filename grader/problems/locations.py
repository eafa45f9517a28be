"""Where the bank is, and which of its folders a child must never see (known without loading it)."""
from __future__ import annotations

import os
from pathlib import Path

BANK_ENV = "GRADER_BANK"


def private_paths(root: Path | str | None = None) -> list[str]:
    """The folders of the default bank (GRADER_BANK's, and `root`'s) that a child must never see:
    reference implementations and problem specs. Jobs carry them to the sandbox (`Job.hide`)."""
    roots = {default_bank_root(), *([Path(root)] if root else [])}
    if os.environ.get(BANK_ENV):
        roots.add(Path(os.environ[BANK_ENV]))
    return sorted(str(Path(root, d).resolve()) for root in roots for d in ("reference", "problems"))


def default_bank_root() -> Path:
    """GRADER_BANK, else the checkout this package lives in, else the current folder."""
    if os.environ.get(BANK_ENV):
        return Path(os.environ[BANK_ENV]).resolve()
    bundled = Path(__file__).resolve().parents[2]
    if (bundled / "problems").is_dir():
        return bundled
    return Path.cwd()
