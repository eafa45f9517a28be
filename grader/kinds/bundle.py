"""Reading a student bundle (written by grader.authoring.release) and checking a submission against it.

A bundle comes from the course, but it travels through students' machines, mail and downloads:
it is read as untrusted data. Every file is named in the manifest with its size and sha256,
checked before it is parsed; names must stay inside the bundle; frames are decoded by
grader.sandbox.codec with its limits; and anything malformed is a usage error that names the file and
says what to do, never a traceback. Grading reuses the function kind's own path
(grader.kinds.function.grade_function) with cases prepared from the bundle instead of the
reference: the same sandboxed child, comparisons, messages and scores.
"""
from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import stat
from dataclasses import dataclass
from pathlib import Path

import jsonschema

from grader.errors import UnknownProblem, UsageError

#: The bundle format (written by grader/authoring/release.py, read here).
FORMAT = "grader-bundle"
FORMAT_VERSION = 1
MANIFEST = "manifest.json"

#: Problem-level spec fields a student may see and the visible-case grading reads.
PUBLIC_FIELDS = ("id", "title", "topic", "points", "kind", "statement", "framework", "tags", "hints",
                 "entry_point", "starter", "dtype", "tolerance", "strictness", "comparator", "forbidden",
                 "limits", "devices")
#: Case fields kept for a visible case (its sizes and input overrides are not needed: the inputs are stored).
CASE_FIELDS = ("name", "description", "visible", "weight", "dtype", "tolerance", "devices", "time_limit")
#: Input fields kept (its type and how it is passed; never how it is drawn).
INPUT_FIELDS = ("type", "keyword")

BUNDLE_ENV = "GRADER_BUNDLE"
MAX_MANIFEST_BYTES = 4 << 20
MAX_FILE_BYTES = 256 << 20   #: one problem file or case frame
MAX_FILES = 20_000
_NAME = r"[A-Za-z0-9][A-Za-z0-9_.-]{0,99}"
_FILE_RE = re.compile(rf"(?:{_NAME}/){{0,2}}{_NAME}")
_PACKAGE_RE = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,99}")

NEXT_STEP = "Download the course's bundle again (or ask course staff for it), then give its folder to --bundle."

_FILE_ENTRY = {"type": "object", "required": ["size", "sha256"],
               "properties": {"size": {"type": "integer", "minimum": 0},
                              "sha256": {"type": "string", "pattern": "^[0-9a-f]{64}$"}}}
MANIFEST_SCHEMA = {
    "type": "object",
    "required": ["format", "format_version", "engine_version", "assignment", "seed", "problems", "files"],
    "properties": {
        "format": {"const": FORMAT}, "format_version": {"type": "integer"},
        "engine_version": {"type": "string", "maxLength": 100}, "assignment": {"type": "string", "maxLength": 1000},
        "seed": {"type": "integer"}, "limits": {"type": "object"},
        "problems": {"type": "array", "maxItems": 1000, "items": {
            "type": "object", "required": ["id", "kind", "file"],
            "properties": {"id": {"type": "string", "pattern": f"^{_NAME}$"},
                           "kind": {"enum": ["function", "numeric", "choice"]}, "file": {"type": "string"}}}},
        "files": {"type": "object", "maxProperties": MAX_FILES, "additionalProperties": _FILE_ENTRY},
    },
}
_CASE_ENTRY = {"type": "object", "required": ["name", "file"],
               "properties": {"name": {"type": "string", "maxLength": 200}, "file": {"type": "string"}}}
FUNCTION_SCHEMA = {
    "type": "object", "required": ["id", "kind", "spec", "cases", "hidden"],
    "properties": {
        "kind": {"const": "function"},
        "spec": {"type": "object", "required": ["id", "title", "topic", "points", "kind", "statement", "entry_point",
                                                 "starter", "inputs", "cases", "mistakes"],
                 "properties": {"points": {"type": "number", "minimum": 0},
                                "entry_point": {"type": "object", "required": ["name", "signature"],
                                                "properties": {"name": {"type": "string",
                                                                        "pattern": "^[A-Za-z_][A-Za-z0-9_]*$"},
                                                               "signature": {"type": "string"}}},
                                "cases": {"type": "array", "items": {"type": "object", "required": ["name"]}},
                                "mistakes": {"type": "array", "items": {
                                    "type": "object", "required": ["name", "feedback"],
                                    "properties": {"name": {"type": "string"}, "feedback": {"type": "string"},
                                                   "hint": {"type": "string"}}}}}},
        "cases": {"type": "array", "items": _CASE_ENTRY},
        "hidden": {"type": "array", "items": {
            "type": "object", "required": ["sort", "weight", "devices"],
            "properties": {"sort": {"enum": ["case", "speed", "gradcheck"]},
                           "weight": {"type": "number", "minimum": 0, "maximum": 1e6},
                           "devices": {"type": "array", "items": {"enum": ["cpu", "cuda"]}}}}},
    },
}


def limits_schema() -> dict:
    """The assignment's limits as the assignment schema allows them."""
    from grader.problems.spec import load_schema

    schema = load_schema("assignment.schema.json")
    return {**schema["properties"]["limits"], "$defs": schema.get("$defs", {})}


def public_spec_schema() -> dict:
    """The problem JSON Schema (grader/schema) for the fields a bundle keeps: a bundle's spec is
    held to the same rules as the bank's, so the grading code meets only the values it expects."""
    from grader.problems.spec import load_schema

    full = load_schema()
    properties = {key: full["properties"][key] for key in PUBLIC_FIELDS}
    properties["kind"] = {"const": "function"}
    properties["inputs"] = {"type": "object", "additionalProperties": {
        "type": "object", "required": ["type"], "additionalProperties": False,
        "properties": {"type": full["$defs"]["input"]["properties"]["type"], "keyword": {"type": "boolean"}}}}
    properties["cases"] = {"type": "array", "items": {"$ref": "#/$defs/case"}}
    properties["mistakes"] = {"type": "array", "items": {
        "type": "object", "required": ["name", "feedback"], "additionalProperties": False,
        "properties": {"name": {"$ref": "#/$defs/name"}, "feedback": {"type": "string"}, "hint": {"type": "string"}}}}
    return {"type": "object", "additionalProperties": False, "properties": properties, "$defs": full["$defs"],
            "required": ["id", "title", "topic", "points", "kind", "statement", "entry_point", "starter", "inputs",
                         "cases", "mistakes"]}


QUESTION_SCHEMA = {"type": "object", "required": ["id", "kind", "show"],
                   "properties": {"kind": {"enum": ["numeric", "choice"]}, "show": {"type": "object"}}}


class BundleError(UsageError):
    """A bundle that cannot be used: missing, corrupted, of another format version, or malformed."""


def locate(where: str | Path) -> Path:
    """The folder holding a bundle's manifest: `where` itself, the folder `grader release` wrote
    (its one package inside), or the name of a bundle installed with pip."""
    path = Path(where)
    if path.is_dir():
        if (path / MANIFEST).is_file():
            return path
        try:
            inner = [p for p in sorted(path.iterdir()) if p.is_dir() and (p / MANIFEST).is_file()]
        except OSError as exc:
            raise BundleError(f"{path}: cannot read the folder: {exc.strerror or exc}", NEXT_STEP) from None
        if len(inner) == 1:
            return inner[0]
        raise BundleError(f"{path}: not a student bundle (no {MANIFEST} in it)", NEXT_STEP)
    if _PACKAGE_RE.fullmatch(str(where)):
        try:
            found = importlib.util.find_spec(str(where))
        except (ImportError, ValueError):
            found = None
        if found is not None and found.submodule_search_locations:
            for folder in found.submodule_search_locations:
                if (Path(folder) / MANIFEST).is_file():
                    return Path(folder)
    raise BundleError(f"{where}: no such bundle folder (nor an installed bundle of that name)", NEXT_STEP)


@dataclass
class BundleProblem:
    """One problem as the bundle describes it."""

    id: str
    kind: str
    entry: dict       #: the problem's file, parsed and checked
    problem: object   #: a grader.problems.spec.Problem over the public spec (function problems)


class Bundle:
    """A student bundle on disk, checked file by file as it is read."""

    def __init__(self, where: str | Path):
        self.root = locate(where)
        raw = self._read(MANIFEST, None, MAX_MANIFEST_BYTES)
        manifest = self._parse_json(raw, MANIFEST)
        if isinstance(manifest, dict) and manifest.get("format") == FORMAT \
                and isinstance(manifest.get("format_version"), int) and manifest["format_version"] != FORMAT_VERSION:
            raise BundleError(
                f"{self.root / MANIFEST}: bundle format version {manifest['format_version']} (made by grader "
                f"{str(manifest.get('engine_version'))[:40]}); this grader reads version {FORMAT_VERSION}",
                "Install the grader version the course names, or ask course staff for a bundle made with yours.")
        self._validate(manifest, MANIFEST_SCHEMA, MANIFEST)
        self._validate(manifest.get("limits") or {}, limits_schema(), MANIFEST)
        self.manifest = manifest
        self.seed = int(manifest["seed"])
        self.limits = manifest.get("limits") or {}
        self.problems = {p["id"]: p for p in manifest["problems"]}
        self._loaded: dict[str, BundleProblem] = {}

    @property
    def assignment(self) -> str:
        return self.manifest["assignment"]

    # -------------------------------------------------------------- checked reads

    def _read(self, name: str, listed: dict | None, limit: int = MAX_FILE_BYTES) -> bytes:
        """A file's bytes, after checking its name, that it is a regular file inside the bundle, and
        (for all but the manifest) that its size and sha256 are the manifest's."""
        if not isinstance(name, str) or not _FILE_RE.fullmatch(name):
            raise BundleError(f"{self.root}: the manifest names a file '{str(name)[:100]}' that cannot be in a bundle",
                              NEXT_STEP)
        path = self.root / name
        try:
            folders = [os.lstat(self.root / folder) for folder in Path(name).parents if str(folder) != "."]
            info = os.lstat(path)
        except OSError:
            raise BundleError(f"{path}: missing from the bundle", NEXT_STEP) from None
        if not stat.S_ISREG(info.st_mode) or any(not stat.S_ISDIR(f.st_mode) for f in folders):
            raise BundleError(f"{path}: not a regular file in the bundle's own folders (a link?)", NEXT_STEP)
        expected_size = listed["size"] if listed is not None else None
        if info.st_size > limit or (expected_size is not None and info.st_size != expected_size):
            raise BundleError(f"{path}: {info.st_size} bytes, " + (
                f"not the {expected_size} the manifest lists" if expected_size is not None and info.st_size <= limit
                else f"more than the {limit} a bundle file may hold") + "; the bundle is damaged", NEXT_STEP)
        try:
            with open(path, "rb") as handle:
                data = handle.read(limit + 1)
        except OSError as exc:
            raise BundleError(f"{path}: cannot read it: {exc.strerror or exc}", NEXT_STEP) from None
        if listed is not None and (len(data) != listed["size"] or hashlib.sha256(data).hexdigest() != listed["sha256"]):
            raise BundleError(f"{path}: its content is not what the manifest lists (corrupted or changed)", NEXT_STEP)
        return data

    def _read_listed(self, name) -> bytes:
        listed = self.manifest["files"].get(name) if isinstance(name, str) else None
        if listed is None:
            raise BundleError(f"{self.root / MANIFEST}: '{str(name)[:100]}' is used but not listed in the manifest",
                              NEXT_STEP)
        return self._read(name, listed)

    def _parse_json(self, raw: bytes, name: str):
        try:
            return json.loads(raw.decode("utf-8"))
        except (UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise BundleError(f"{self.root / name}: not valid JSON ({str(exc)[:200]}); the bundle is damaged",
                              NEXT_STEP) from None

    def _validate(self, data, schema: dict, name: str) -> None:
        try:
            error = jsonschema.exceptions.best_match(jsonschema.Draft202012Validator(schema).iter_errors(data))
        except RecursionError:
            error = "nested too deeply"
        if error is not None:
            where = getattr(error, "json_path", "$")
            raise BundleError(f"{self.root / name}: not a bundle file this grader can read "
                              f"({where}: {str(getattr(error, 'message', error))[:200]})", NEXT_STEP)

    # -------------------------------------------------------------- problems

    def ids(self) -> list[str]:
        return list(self.problems)

    def get(self, problem_id: str) -> BundleProblem:
        if problem_id in self._loaded:
            return self._loaded[problem_id]
        listed = self.problems.get(problem_id)
        if listed is None:
            raise UnknownProblem(f"no problem '{problem_id}' in the bundle of '{self.assignment}' at {self.root}",
                                 f"Problems in it: {', '.join(self.ids()) or 'none'}.")
        name = listed["file"]
        entry = self._parse_json(self._read_listed(name), name)
        schema = FUNCTION_SCHEMA if listed["kind"] == "function" else QUESTION_SCHEMA
        self._validate(entry, schema, name)
        if listed["kind"] == "function":
            self._validate(entry["spec"], public_spec_schema(), name)
            comparator = entry["spec"].get("comparator")
            if isinstance(comparator, dict) and comparator.get("type") == "custom":
                raise BundleError(f"{self.root / name}: a custom check needs the course's bank; a bundle cannot have one",
                                  NEXT_STEP)
        if entry.get("id") != problem_id or entry["kind"] != listed["kind"] or \
                (listed["kind"] == "function" and entry["spec"].get("id") != problem_id):
            raise BundleError(f"{self.root / name}: describes '{str(entry.get('id'))[:100]}' "
                              f"({entry['kind']}), not the manifest's '{problem_id}' ({listed['kind']})", NEXT_STEP)
        if listed["kind"] == "function" and [c["name"] for c in entry["cases"]] != [c["name"] for c in entry["spec"]["cases"]]:
            raise BundleError(f"{self.root / name}: its case files and case specs do not match", NEXT_STEP)
        problem = self._problem(entry, name) if listed["kind"] == "function" else None
        self._loaded[problem_id] = BundleProblem(problem_id, listed["kind"], entry, problem)
        return self._loaded[problem_id]

    def _problem(self, entry: dict, name: str):
        from grader.problems.spec import Problem

        spec = entry["spec"]
        try:
            return Problem(id=spec["id"], title=str(spec["title"]), topic=str(spec["topic"]),
                           points=float(spec["points"]), kind="function", statement=str(spec["statement"]),
                           path=self.root / name, bank_root=self.root, spec=spec)
        except (TypeError, ValueError) as exc:
            raise BundleError(f"{self.root / name}: malformed problem ({exc})", NEXT_STEP) from None

    def case_values(self, problem_id: str, index: int) -> tuple[list, object, dict]:
        """A visible case's (arguments, expected output, {mistake name: its output or CANNOT_RUN})."""
        from grader.sandbox import codec
        from grader.problems.inputs import Argument
        from grader.kinds.function.kind import CANNOT_RUN

        found = self.get(problem_id)
        name = found.entry["cases"][index]["file"]
        data = self._read_listed(name)
        try:
            _, value = codec.decode(data, max_bytes=MAX_FILE_BYTES, restore_devices=False)
        except (codec.DecodeError, ValueError, TypeError, OverflowError, MemoryError) as exc:
            raise BundleError(f"{self.root / name}: not a readable case ({str(exc)[:200]}); the bundle is damaged",
                              NEXT_STEP) from None
        known = [m["name"] for m in found.problem.spec["mistakes"]]
        try:
            args = [Argument(n, v, bool(k)) for n, v, k in value["args"]]
            assert all(type(a.name) is str for a in args)
            expected = value["expected"]
            mistakes = {n: (v if ran else CANNOT_RUN) for n, ran, v in value["mistakes"]}
            assert sorted(mistakes) == sorted(known)
        except (KeyError, TypeError, ValueError, AssertionError):
            raise BundleError(f"{self.root / name}: a case frame without the arguments, expected output and "
                              "every known mistake's output; the bundle is damaged", NEXT_STEP) from None
        return args, expected, mistakes

    def prepared_cases(self, problem_id: str, device: str = "all") -> list:
        """The visible cases as the function kind prepares them (grader.kinds.function.prepare_cases),
        with the expected outputs and the mistakes' outputs from the bundle: no reference runs."""
        from grader.sandbox.devices import select_devices
        from grader.kinds.function.kind import PreparedCase, case_devices, make_call

        found = self.get(problem_id)
        problem = found.problem
        cases = {c["name"]: c for c in problem.spec["cases"]}
        prepared = []
        for index, listed in enumerate(found.entry["cases"]):
            case = cases.get(listed["name"])
            if case is None:
                raise BundleError(f"{problem.path}: case '{listed['name'][:100]}' has no spec", NEXT_STEP)
            args, expected, mistakes = self.case_values(problem_id, index)
            run, skipped = select_devices(case_devices(problem, case), device)
            for dev in run:
                prepared.append(PreparedCase(case, args, make_call(problem, case, args, dev), expected, device=dev,
                                             mistake_outputs=dict(mistakes)))
            for dev, reason in skipped:
                prepared.append(PreparedCase(case, args, None, None, device=dev, skipped=reason))
        return prepared

    def hidden_summary(self, problem_id: str, device: str = "all") -> dict:
        """The tests only the course grades, among those that would run here: count, weight, speed tests."""
        from grader.sandbox.devices import select_devices

        count, weight, speed = 0, 0.0, 0
        for test in self.get(problem_id).entry["hidden"]:
            devices = test["devices"] if test["sort"] != "gradcheck" or device in ("all", "cpu") else []
            run, _ = select_devices(devices, device)
            count += len(run)
            weight += test["weight"] * len(run)
            speed += len(run) if test["sort"] == "speed" else 0
        return {"tests": count, "weight": weight, "speed_tests": speed}


def check_with_bundle(bundle: Bundle, problem_id: str, submission, *, limits=None, device: str = "all",
                      notebook: str | None = None, executor=None, seed: int | None = None,
                      student: str | None = None):
    """Grade the visible cases of `problem_id` from the bundle, as `grader check` does with the bank."""
    from grader.errors import SubmissionError
    from grader.kinds.function.kind import grade_function
    from grader.limits import Limits
    from grader.result import ProblemResult
    from grader.sandbox.runner import SubprocessExecutor
    from grader.problems.submission import read_submission

    if student is not None or (seed is not None and seed != bundle.seed):
        raise UsageError(f"the bundle holds the cases for seed {bundle.seed} only",
                         "Leave out --seed and --student: your own variant is graded by the course when you submit.")
    found = bundle.get(problem_id)
    if found.kind != "function":
        raise UsageError(f"'{problem_id}' is a {found.kind} question: its answer is checked only by the course "
                         "(the bundle holds no answers)", f"See it with: grader show {problem_id} --bundle ...")
    problem = found.problem
    if not problem.cases:
        raise UsageError(f"'{problem_id}' has no visible cases: the course grades all of them when you submit")
    prepared = bundle.prepared_cases(problem_id, device)
    hidden = bundle.hidden_summary(problem_id, device)
    try:
        submission = read_submission(submission, notebook=notebook)
    except SubmissionError as exc:
        return ProblemResult(problem=problem.id, title=problem.title, score=0.0, max_score=problem.points, tests=[],
                             kind=problem.kind, submission=str(submission), seed=bundle.seed, error=str(exc))
    limits = (limits or Limits()).with_overrides(bundle.limits)
    result = grade_function(problem, submission, bank=None, executor=executor or SubprocessExecutor(),
                            seed=bundle.seed, limits=limits, prepared=prepared, device=device,
                            reserved_weight=hidden["weight"])
    hidden_points = max(0.0, problem.points - sum(t.max_score for t in result.tests)) if hidden["tests"] else 0.0
    speed = f"; {hidden['speed_tests']} of them timed against the reference (speed tests run only at submission)" \
        if hidden["speed_tests"] else ""
    result.graded_at_submission = {
        "tests": hidden["tests"], "max_score": hidden_points, "speed_tests": hidden["speed_tests"],
        "note": (f"Checked with the student bundle: visible cases only. {hidden['tests']} more test(s) "
                 f"({hidden_points:.3g} points) are graded by the course when you submit{speed}.")
        if hidden["tests"] else "Checked with the student bundle: every test of this problem ran here.",
    }
    return result
