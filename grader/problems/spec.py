"""Problem specs: YAML files validated against the JSON Schema shipped in the package.

An instructor never reads the engine's code: a spec is data, and every error names the file,
the field (as a JSON path such as `$.cases[2].dtype`) and what was expected.
"""
from __future__ import annotations

import functools
import json
import re
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

import yaml

from grader.errors import SpecError

SCHEMA_FILE = "problem.schema.json"


@functools.lru_cache(maxsize=None)
def load_schema(name: str = SCHEMA_FILE) -> dict:
    """The JSON Schema `name` shipped in grader/problems/schema/."""
    return json.loads(resources.files("grader.problems").joinpath("schema").joinpath(name).read_text(encoding="utf-8"))


def json_path(parts) -> str:
    """Render a jsonschema error path as `$.cases[2].dtype`."""
    out = "$"
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else f".{part}"
    return out


def schema_errors(data: Any, schema: dict) -> list[str]:
    """Every schema violation as 'path: message', the most relevant first.

    Data this engine found valid before is not checked again (grader.problems.expected_cache:
    importing jsonschema alone costs `grader check` 60-100 ms)."""
    from grader.problems import expected_cache

    known = expected_cache.valid_before(data, schema)
    if known is True:
        return []
    import jsonschema

    validator = jsonschema.Draft202012Validator(schema)
    errors = list(validator.iter_errors(data))
    if not errors:
        expected_cache.remember_valid(known)
        return []
    best = jsonschema.exceptions.best_match(errors)
    ordered = [best] + [e for e in sorted(errors, key=lambda e: list(e.absolute_path)) if e is not best]
    lines = []
    for error in ordered:
        # For oneOf/anyOf failures the most specific sub-error says what is really wrong.
        leaf = jsonschema.exceptions.best_match(error.context) if error.context else error
        line = f"{json_path(leaf.absolute_path)}: {leaf.message}"
        if line not in lines:
            lines.append(line)
    return lines


class SpecLoader(yaml.SafeLoader):
    """Safe YAML with YAML 1.2 floats: `1.0e6` and `1e-3` are numbers, as instructors expect
    (PyYAML's YAML 1.1 rules read them as strings)."""


class FastSpecLoader(getattr(yaml, "CSafeLoader", SpecLoader)):
    """SpecLoader's rules on libyaml's parser where PyYAML has it: the same values, 8x faster
    (`grader list` parses every spec of the bank). Its error messages are terser, so a file it
    rejects is parsed again with SpecLoader for the message."""


YAML12_FLOAT = re.compile(r"""^(?:[-+]?(?:[0-9][0-9_]*)\.[0-9_]*(?:[eE][-+]?[0-9]+)?
                   |[-+]?(?:[0-9][0-9_]*)(?:[eE][-+]?[0-9]+)
                   |\.[0-9_]+(?:[eE][-+]?[0-9]+)?
                   |[-+]?\.(?:inf|Inf|INF)
                   |\.(?:nan|NaN|NAN))$""", re.X)
for _loader in {SpecLoader, FastSpecLoader}:
    _loader.add_implicit_resolver("tag:yaml.org,2002:float", YAML12_FLOAT, list("-+0123456789."))


def read_yaml(path: Path, what: str = "spec") -> Any:
    """Parse a YAML file; syntax errors name the line and column."""
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise SpecError(f"{path}: cannot read {what}: {exc.strerror or exc}") from None
    except UnicodeDecodeError:
        raise SpecError(f"{path}: {what} is not UTF-8 text") from None
    try:
        return yaml.load(text, Loader=FastSpecLoader)
    except yaml.YAMLError:
        pass
    try:
        return yaml.load(text, Loader=SpecLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise SpecError(f"{path}:{where}: invalid YAML: {problem}",
                        "Check the indentation and quoting around that line.") from None


@dataclass
class Problem:
    """A validated problem spec. Kind-specific modules interpret `spec`."""

    id: str
    title: str
    topic: str
    points: float
    kind: str
    statement: str
    path: Path
    bank_root: Path
    spec: dict = field(repr=False)

    @property
    def framework(self) -> str:
        return self.spec.get("framework", "torch")

    @property
    def hints(self) -> list[str]:
        return list(self.spec.get("hints", []))

    @property
    def entry_point(self) -> str | None:
        entry = self.spec.get("entry_point")
        return entry["name"] if entry else None

    @property
    def starter_file(self) -> str:
        """The file `grader start` writes by default: `<entry point>.py`."""
        return f"{self.entry_point}.py"

    def import_line(self, names: str) -> str:
        """The import at the top of `grader show --case` code: from the file `grader start` wrote,
        so the code runs as printed beside the student's own file."""
        return f"from {self.entry_point} import {names}  # from {self.starter_file}, as 'grader start' writes it"

    @property
    def signature(self) -> str | None:
        entry = self.spec.get("entry_point")
        return entry["signature"] if entry else None

    @property
    def cases(self) -> list[dict]:
        return list(self.spec.get("cases", []))

    def case(self, name: str, extra: list[dict] = ()) -> dict:
        """The spec's case `name` (or one of `extra`: cases a kind adds, such as gradient checks)."""
        for case in [*self.cases, *extra]:
            if case["name"] == name:
                return case
        names = ", ".join(c["name"] for c in self.cases) or "none"
        raise SpecError(f"problem '{self.id}' has no case '{name}' (cases: {names})")


def parse_problem(data: Any, path: Path, bank_root: Path) -> Problem:
    """Validate already-parsed spec data; raise SpecError naming `path` and each bad field."""
    if not isinstance(data, dict):
        raise SpecError(f"{path}: a problem spec must be a YAML mapping (id: ..., title: ...), "
                        f"got {type(data).__name__}")
    errors = schema_errors(data, load_schema())
    if errors:
        raise invalid_spec(path, errors)
    return Problem(id=data["id"], title=data["title"], topic=data["topic"], points=float(data["points"]),
                   kind=data["kind"], statement=data["statement"], path=path, bank_root=bank_root, spec=data)


def invalid_spec(path: Path, errors: list[str]) -> SpecError:
    """The error for a spec that breaks rules: the file, then up to ten '$.path: message' lines."""
    shown = "\n".join(f"  {line}" for line in errors[:10])
    more = f"\n  ... and {len(errors) - 10} more" if len(errors) > 10 else ""
    return SpecError(f"{path}: invalid problem spec:\n{shown}{more}",
                     "See 'grader schema' for every field, or docs/writing-problems.md.")


def load_problem(path: Path, bank_root: Path | None = None) -> Problem:
    """Load and validate one spec file."""
    path = Path(path)
    root = bank_root if bank_root is not None else path.resolve().parent.parent.parent
    return parse_problem(read_yaml(path), path, root)
