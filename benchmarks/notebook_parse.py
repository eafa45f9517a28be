"""CPU the grader spends turning a notebook at the code cap into a module (trusted process).

    PYTHONPATH=. python benchmarks/notebook_parse.py

Worst cases at grader.problems.notebook.MAX_CODE_CHARS: many trivial statements (the most AST nodes per
byte), and lines with brackets plus a magic in every cell (every logical line tokenized)."""
from __future__ import annotations

import resource
import time

import nbformat
from nbformat.v4 import new_code_cell, new_notebook

from grader.problems.notebook import MAX_CODE_CHARS, convert


def notebook(unit: str, magic: bool) -> bytes:
    source = unit * ((MAX_CODE_CHARS - 1000) // len(unit))
    cells = [source[i:i + 20000] for i in range(0, len(source), 20000)]
    if magic:
        cells = ["%time f()\n" + cell[:-10] for cell in cells]
    return nbformat.writes(new_notebook(cells=[new_code_cell(c) for c in cells])).encode()


def main() -> None:
    print(f"code cap: {MAX_CODE_CHARS} characters")
    for label, unit, magic in [("x=1 lines", "x=1\n", False), ("x=(1) lines + a magic per cell", "x=(1)\n", True)]:
        data = notebook(unit, magic)
        for mode in ("definitions", "run"):
            start = time.process_time()
            convert(data, "hw.ipynb", mode)
            peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss // 1024
            print(f"{label:32s} {mode:12s} {time.process_time() - start:5.2f} s CPU   peak RSS {peak} MB")


if __name__ == "__main__":
    main()
