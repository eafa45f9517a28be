"""`grader new`: scaffold a problem spec and its reference stubs.

Each kind's template (grader/authoring/templates/KIND.yaml) says what to write: the spec
problems/TOPIC/ID.yaml, and stubs appended to (or creating) reference/TOPIC.py and
reference/mistakes/TOPIC.py: a reference function and three mistakes for `function`, an answer
and two wrong answers for `numeric`, nothing but the spec for `choice` (docs/questions.md). The spec is schema-valid at once; `grader validate` passes as soon as the
TODOs are filled in (the stubs raise NotImplementedError until then, which validate reports).
Existing files are appended to, never overwritten; an existing spec or function is an error.
"""
from __future__ import annotations

import re
from importlib import resources
from pathlib import Path

import yaml

from grader.errors import SpecError, UsageError
from grader.kinds import kind_of, names

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


def class_name(problem_id: str) -> str:
    """'tiny-layer' -> 'TinyLayer'."""
    name = "".join(part.capitalize() for part in problem_id.split("-"))
    return name if name[0].isalpha() else f"P{name}"


def python_name(problem_id: str) -> str:
    name = problem_id.replace("-", "_")
    return name if name[0].isalpha() else f"p_{name}"


def scaffold(root: Path, problem_id: str, topic: str, kind: str = "function", *,
             title: str | None = None) -> list[Path]:
    """Write the files of a new problem under the bank `root`; return their paths."""
    root = Path(root)
    for what, value in (("id", problem_id), ("topic", topic)):
        if not ID_RE.match(value):
            raise UsageError(f"invalid {what} '{value}': use lower-case words joined by '-', e.g. kmeans-step")
    spec_path = root / "problems" / topic / f"{problem_id}.yaml"
    existing = list((root / "problems").rglob(f"{problem_id}.yaml")) if (root / "problems").is_dir() else []
    if existing:
        raise UsageError(f"a problem '{problem_id}' already exists: {existing[0]}")
    module = topic.replace("-", "_")
    func = python_name(problem_id)
    title = title or problem_id.replace("-", " ").capitalize()
    template = load_template(kind)
    fields = {"id": problem_id, "title": title, "topic": topic, "func": func, "module": module,
              "cls": class_name(problem_id)}
    written = []
    for part, folder in (("reference", root / "reference"), ("mistakes", root / "reference" / "mistakes")):
        if part not in template:
            continue
        header = template[part]["header"].format(**fields)
        code = "".join(template[part]["code"].format(**fields, n=n) for n in range(1, template[part].get("count", 1) + 1))
        first = re.search(r"^(?:def|class) (\w+)", code, re.MULTILINE).group(1)
        written += _append(folder / f"{module}.py", header, first, code)
    text = template["spec"].format(**fields)
    for init in (root / "reference" / "__init__.py", root / "reference" / "mistakes" / "__init__.py"):
        if written and not init.exists():
            init.parent.mkdir(parents=True, exist_ok=True)
            init.write_text('"""Trusted code of the problem bank."""\n', encoding="utf-8")
            written.append(init)
    spec_path.parent.mkdir(parents=True, exist_ok=True)
    spec_path.write_text(text, encoding="utf-8")
    return [spec_path] + written


def _append(path: Path, header: str, name: str, code: str) -> list[Path]:
    if path.exists():
        source = path.read_text(encoding="utf-8")
        if re.search(rf"^(def|class) {re.escape(name)}\b", source, re.MULTILINE):
            raise UsageError(f"{path} already defines {name}(); choose another id")
        path.write_text(source.rstrip("\n") + "\n\n" + code, encoding="utf-8")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + "\n" + code, encoding="utf-8")
    return [path]


def load_template(kind: str) -> dict:
    """The files `grader new --kind KIND` writes: grader/authoring/templates/<template>.yaml."""
    try:
        name = kind_of(kind).scaffold_template
    except SpecError:
        raise UsageError(f"unknown kind '{kind}' ({', '.join(names())})") from None
    text = resources.files("grader.authoring").joinpath("templates", f"{name}.yaml").read_text(encoding="utf-8")
    return yaml.safe_load(text)
