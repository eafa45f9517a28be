"""Turning a Jupyter notebook into the Python module it stands for.

Code cells are joined in order; IPython magics (%...) and shell lines (!...) cannot run as
Python, so they are commented out and the student is told which were skipped.
"""
from __future__ import annotations

import json

from .errors import UsageError


def notebook_to_python(data: bytes, name: str) -> tuple[str, list[str]]:
    """(python source, notes) for a notebook's bytes."""
    try:
        nb = json.loads(data.decode("utf-8"))
        cells = nb["cells"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
        raise UsageError(f"{name}: not a readable Jupyter notebook (expected JSON with 'cells')") from None
    lines: list[str] = []
    skipped = 0
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        lines.append(f"# --- cell {number} ---")
        for line in text.splitlines():
            stripped = line.lstrip()
            if stripped.startswith(("%", "!")) or (stripped.endswith("?") and not stripped.startswith("#")):
                lines.append("# skipped by grader: " + line)
                skipped += 1
            else:
                lines.append(line)
        lines.append("")
    notes = [f"{name}: skipped {skipped} IPython magic/shell line(s) (they cannot run as Python)"] if skipped else []
    return "\n".join(lines) + "\n", notes
