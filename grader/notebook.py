"""Turning a Jupyter notebook into the Python module it stands for.

Code cells are joined in order; IPython magics (%...) and shell lines (!...) cannot run as
Python, so each becomes `pass` with the line in a comment (also inside an indented block), and
the student is told which were skipped.
"""
from __future__ import annotations

import json

from .errors import UsageError


#: Cell magics whose body is plain Python: only the magic line is skipped.
PYTHON_CELL_MAGICS = {"%%time", "%%timeit", "%%capture", "%%prun"}


def notebook_to_python(data: bytes, name: str) -> tuple[str, list[str]]:
    """(python source, notes) for a notebook's bytes."""
    try:
        nb = json.loads(data.decode("utf-8"))
        cells = nb["cells"]
    except (UnicodeDecodeError, json.JSONDecodeError, KeyError, TypeError):
        raise UsageError(f"{name}: not a readable Jupyter notebook (expected JSON with 'cells')") from None
    lines: list[str] = []
    skipped = skipped_cells = 0
    for number, cell in enumerate(cells, start=1):
        if not isinstance(cell, dict) or cell.get("cell_type") != "code":
            continue
        source = cell.get("source", "")
        text = "".join(source) if isinstance(source, list) else str(source)
        lines.append(f"# --- cell {number} ---")
        first = text.lstrip().split("\n", 1)[0].strip()
        if first.startswith("%%") and first.split()[0] not in PYTHON_CELL_MAGICS:
            # A cell magic (%%bash, %%writefile, ...): its body is not Python, so the whole cell is skipped.
            lines += ["# skipped by grader: " + line for line in text.splitlines()]
            skipped_cells += 1
            lines.append("")
            continue
        for line in text.splitlines():
            stripped = line.lstrip()
            if stripped.startswith(("%", "!")) or (stripped.endswith("?") and not stripped.startswith("#")):
                # `pass` at the line's own indentation keeps a block whose only line it was valid
                indent = line[:len(line) - len(stripped)]
                lines.append(f"{indent}pass  # skipped by grader: {stripped}")
                skipped += 1
            else:
                lines.append(line)
        lines.append("")
    notes = [f"{name}: skipped {skipped} IPython magic/shell line(s) (they cannot run as Python)"] if skipped else []
    if skipped_cells:
        notes.append(f"{name}: skipped {skipped_cells} cell(s) run by a cell magic such as %%bash "
                     "(their contents are not Python)")
    return "\n".join(lines) + "\n", notes
