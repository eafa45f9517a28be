"""Building a Gradescope autograder zip: `setup.sh` + `run_autograder` + this grader + the bank.

Layout inside the zip (Gradescope extracts it to /autograder/source):

    setup.sh            installs Python, CPU torch and this grader into /autograder/venv
    run_autograder      grades /autograder/submission into /autograder/results/results.json
    assignment.yaml     the assignment
    bank/problems/...   the problem specs (all of the bank's, so references resolve)
    bank/reference/...  the reference implementations (secret: never copied next to the submission)
    grader-src/...      this grader's source, installed by setup.sh
"""
from __future__ import annotations

import io
import stat
import zipfile
from pathlib import Path

from . import __version__

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image.
set -euo pipefail
apt-get update
apt-get install -y --no-install-recommends python3 python3-pip python3-venv
python3 -m venv /autograder/venv
/autograder/venv/bin/pip install --upgrade pip
/autograder/venv/bin/pip install torch --index-url https://download.pytorch.org/whl/cpu
/autograder/venv/bin/pip install /autograder/source/grader-src
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission into results.json.
set -uo pipefail
mkdir -p /autograder/results
cd /autograder/source
/autograder/venv/bin/grader --bank /autograder/source/bank grade /autograder/submission --single \\
    --student submission --assignment /autograder/source/assignment.yaml \\
    --out /tmp/grader-out --gradescope /autograder/results/results.json --no-progress
status=$?
if [ ! -s /autograder/results/results.json ]; then
  # The grader itself failed before writing results: say so instead of a silent 0.
  cat > /autograder/results/results.json <<'JSON'
{"score": 0, "output": "The autograder ran into an error (not your fault). Please tell course staff.", "tests": []}
JSON
fi
exit 0  # a low score is not a failure; Gradescope reads results.json
"""


def _executable(name: str, text: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = (stat.S_IFREG | 0o755) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info, text.encode()


def _add_tree(zf: zipfile.ZipFile, root: Path, prefix: str, patterns=("*",)) -> list[str]:
    names = []
    for pattern in patterns:
        for path in sorted(root.rglob(pattern)):
            if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            name = f"{prefix}/{path.relative_to(root).as_posix()}"
            zf.write(path, name)
            names.append(name)
    return names


def build_autograder_zip(assignment, assignment_path: Path, bank, out: Path) -> list[str]:
    """Write the zip to `out`; return the names it holds."""
    package = Path(__file__).resolve().parent
    out.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    names = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in (("setup.sh", SETUP_SH), ("run_autograder", RUN_AUTOGRADER)):
            info, data = _executable(name, text)
            zf.writestr(info, data)
            names.append(name)
        zf.write(assignment_path, "assignment.yaml")
        names.append("assignment.yaml")
        names += _add_tree(zf, bank.problems_dir, "bank/problems", ("*.yaml",))
        names += _add_tree(zf, bank.reference_dir, "bank/reference", ("*.py",))
        names += _add_tree(zf, package, "grader-src/grader", ("*.py", "*.json"))
        zf.writestr("grader-src/pyproject.toml", _pyproject())
        zf.writestr("grader-src/README.md", f"grader {__version__}, packaged for a Gradescope autograder.\n")
        names += ["grader-src/pyproject.toml", "grader-src/README.md"]
    out.write_bytes(buffer.getvalue())
    return names


def _pyproject() -> str:
    """This checkout's pyproject.toml when there is one, else a minimal one."""
    checkout = Path(__file__).resolve().parent.parent / "pyproject.toml"
    if checkout.is_file():
        return checkout.read_text(encoding="utf-8")
    return (f'[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n'
            f'[project]\nname = "grader"\nversion = "{__version__}"\nreadme = "README.md"\n'
            f'dependencies = ["numpy>=1.24", "torch>=2.1", "pyyaml>=6", "click>=8.1", "jsonschema>=4.18"]\n\n'
            f'[project.scripts]\ngrader = "grader.cli:main"\n\n'
            f'[tool.setuptools.packages.find]\ninclude = ["grader*"]\n\n'
            f'[tool.setuptools.package-data]\ngrader = ["schema/*.json"]\n')
