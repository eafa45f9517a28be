"""Building a Gradescope autograder zip: `setup.sh` + `run_autograder` + this grader + the bank.

Layout inside the zip (Gradescope extracts it to /autograder/source):

    setup.sh            makes the bank root-only, installs Python, torch and this grader into /autograder/venv
    run_autograder      grades /autograder/submission into /autograder/results/results.json
    assignment.yaml     the assignment
    bank/problems/...   the problem specs (all of the bank's, so references resolve; hidden cases)
    bank/reference/...  the reference implementations (secret: never copied next to the submission)
    grader-src/...      this grader's source, installed by setup.sh

setup.sh needs only PyPI (pip's default index): torch is `pip install torch` unless the
assignment's `gradescope.torch` gives other pip arguments (a version, or the CPU-only wheels'
index: `torch --index-url https://download.pytorch.org/whl/cpu`). It first makes the bank and
the assignment readable by root only (mode 0700/0600): where the sandbox has no namespaces
(a container without CAP_SYS_ADMIN), the submission runs under another uid and cannot read them.
"""
from __future__ import annotations

import io
import shlex
import stat
import zipfile
from pathlib import Path

from grader import __version__

SETUP_SH = """#!/usr/bin/env bash
# Gradescope runs this once, when it builds the autograder image. Python packages come from PyPI
# (pip's default index) unless the assignment's gradescope.torch says otherwise.
set -euo pipefail
AUTOGRADER="${{AUTOGRADER:-/autograder}}"
SOURCE="$AUTOGRADER/source"
# The reference solutions and the problems' hidden cases: root only. A submission runs under
# another uid, so it cannot read them even where the sandbox has no namespaces.
chmod -R go-rwx "$SOURCE/bank" "$SOURCE/assignment.yaml"
apt-get update
apt-get install -y --no-install-recommends python3 python3-pip python3-venv
python3 -m venv "$AUTOGRADER/venv"
"$AUTOGRADER/venv/bin/pip" install --upgrade pip
"$AUTOGRADER/venv/bin/pip" install {torch}
"$AUTOGRADER/venv/bin/pip" install "$SOURCE/grader-src"
"""

RUN_AUTOGRADER = """#!/usr/bin/env bash
# Gradescope runs this for every submission: grade /autograder/submission into results.json.
set -uo pipefail
mkdir -p /autograder/results
cd /autograder/source
# --allow-weak-sandbox: where Gradescope's container has no Linux namespaces, grade with the weaker
# protections (setup.sh made the bank root-only; every result says sandbox: weak) instead of refusing.
/autograder/venv/bin/grader --bank /autograder/source/bank grade /autograder/submission --single \\
    --student submission --assignment /autograder/source/assignment.yaml --allow-weak-sandbox \\
    --out /tmp/grader-out --gradescope /autograder/results/results.json --no-progress
status=$?
if [ ! -s /autograder/results/results.json ]; then
  # The grader itself failed before writing results: say so instead of a silent 0.
  cat > /autograder/results/results.json <<'JSON'
{"score": 0, "output": "The autograder ran into an error (not your fault). Please tell course staff.", "output_format": "text", "tests": []}
JSON
fi
exit 0  # a low score is not a failure; Gradescope reads results.json
"""


def _executable(name: str, text: str) -> tuple[zipfile.ZipInfo, bytes]:
    info = zipfile.ZipInfo(name, date_time=(2020, 1, 1, 0, 0, 0))
    info.external_attr = (stat.S_IFREG | 0o755) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    return info, text.encode()


def setup_sh(assignment) -> str:
    """setup.sh for this assignment: its `gradescope.torch` pip arguments, each shell-quoted."""
    words = shlex.split(str((assignment.gradescope or {}).get("torch") or "torch"))
    return SETUP_SH.format(torch=" ".join(shlex.quote(word) for word in words))


def _add_file(zf: zipfile.ZipFile, path: Path, name: str, secret: bool) -> None:
    """A file in the zip; a secret one (the bank, the assignment) with mode 0600."""
    if not secret:
        zf.write(path, name)
        return
    info = zipfile.ZipInfo.from_file(path, name)
    info.external_attr = (stat.S_IFREG | 0o600) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    zf.writestr(info, path.read_bytes())


def _add_tree(zf: zipfile.ZipFile, root: Path, prefix: str, patterns=("*",), secret: bool = False) -> list[str]:
    names = []
    for pattern in patterns:
        for path in sorted(root.rglob(pattern)):
            if not path.is_file() or "__pycache__" in path.parts or path.suffix == ".pyc":
                continue
            name = f"{prefix}/{path.relative_to(root).as_posix()}"
            _add_file(zf, path, name, secret)
            names.append(name)
    return names


def build_autograder_zip(assignment, assignment_path: Path, bank, out: Path) -> list[str]:
    """Write the zip to `out`; return the names it holds."""
    package = Path(__file__).resolve().parents[1]
    out.parent.mkdir(parents=True, exist_ok=True)
    buffer = io.BytesIO()
    names = []
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, text in (("setup.sh", setup_sh(assignment)), ("run_autograder", RUN_AUTOGRADER)):
            info, data = _executable(name, text)
            zf.writestr(info, data)
            names.append(name)
        _add_file(zf, assignment_path, "assignment.yaml", secret=True)
        names.append("assignment.yaml")
        names += _add_tree(zf, bank.problems_dir, "bank/problems", ("*.yaml",), secret=True)
        names += _add_tree(zf, bank.reference_dir, "bank/reference", ("*.py",), secret=True)
        names += _add_tree(zf, package, "grader-src/grader", ("*.py", "*.json"))
        zf.writestr("grader-src/pyproject.toml", _pyproject())
        zf.writestr("grader-src/README.md", f"grader {__version__}, packaged for a Gradescope autograder.\n")
        names += ["grader-src/pyproject.toml", "grader-src/README.md"]
    out.write_bytes(buffer.getvalue())
    return names


def _pyproject() -> str:
    """This checkout's pyproject.toml when there is one, else a minimal one."""
    checkout = Path(__file__).resolve().parents[2] / "pyproject.toml"
    if checkout.is_file():
        return checkout.read_text(encoding="utf-8")
    return (f'[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n'
            f'[project]\nname = "grader"\nversion = "{__version__}"\nreadme = "README.md"\n'
            f'dependencies = ["numpy>=1.24", "torch>=2.1", "pyyaml>=6", "click>=8.1", "jsonschema>=4.18"]\n\n'
            f'[project.scripts]\ngrader = "grader.cli.main:run"\n\n'
            f'[tool.setuptools.packages.find]\ninclude = ["grader*"]\n\n'
            f'[tool.setuptools.package-data]\ngrader = ["schema/*.json"]\n')
