"""Record the golden outputs that tests/test_golden.py compares against.

    PYTHONPATH=$PWD python tests/golden/record.py [check] [grade] [single] [validate]   (default: all)

Rerun it ONLY when a change is meant to alter what the CLI prints or writes (a new message, a
new field, a fixed score), then read `git diff tests/golden` line by line before committing:
every changed line is a change users will see. A restructure or a refactoring must not need it.

It runs the commands (see tests/golden_outputs.py: `grader check --json` for every example and
the quiz, `grader grade` of examples/class, `grader grade --single` of one student with the
Gradescope and GitHub Classroom outputs, `grader validate --json`), normalises what varies
between runs, and rewrites tests/golden/<group>/, deleting golden files no longer produced.
"""
from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import golden_outputs as golden  # noqa: E402


GROUPS = ["check", "grade", "single", "validate"]


def record(group: str) -> dict[str, str]:
    if group == "check":
        return golden.produce_checks()
    if group == "validate":
        return golden.produce_validate()
    with tempfile.TemporaryDirectory() as tmp:
        if group == "single":
            return golden.produce_single(Path(tmp))
        return golden.produce_grade(Path(tmp) / "out")


def main(groups: list[str]) -> int:
    unknown = set(groups) - set(GROUPS)
    if unknown:
        print(f"usage: record.py [{'] ['.join(GROUPS)}] (unknown: {', '.join(sorted(unknown))})", file=sys.stderr)
        return 2
    for group in groups or GROUPS:
        texts = record(group)
        shutil.rmtree(golden.GOLDEN / group, ignore_errors=True)
        for name, text in texts.items():
            golden.write_golden(name, text)
        print(f"{group}: wrote {len(texts)} files under {golden.GOLDEN / group}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
