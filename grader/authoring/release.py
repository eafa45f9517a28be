"""`grader release`: the student bundle of an assignment, without anything secret.

A bundle holds, for each problem of an assignment, what a student may see and what `grader check
--bundle` needs to grade the visible cases without the bank: the statement, starter and
signature; each visible case's inputs and expected output, computed here by the reference (in
this trusted process) and written in the engine's safe data format (grader.sandbox.codec: JSON plus raw
buffers, nothing that executes when read); the tolerances and comparator; and each known
mistake's name, feedback, hint and outputs on the visible cases, so a wrong answer is still named.

Left out on purpose: reference and mistake source (and their module names), hidden cases (their
names, sizes, inputs, outputs), the generation specs of inputs (distributions, sizes) and the
seed rules, from which hidden inputs could be rebuilt. Of the hidden tests the bundle keeps only
their count, weights and devices, so that every visible test is worth what it is worth with the
bank. The layout (docs/running-a-course.md, "Student bundle"):

    OUT/pyproject.toml                      a data-only package: `pip install OUT` works
    OUT/<package>/__init__.py               (empty)
    OUT/<package>/manifest.json             format version, engine version, every file's size and sha256
    OUT/<package>/problems/<id>.json        one problem's public spec and hidden-test weights
    OUT/<package>/cases/<id>/<n>.grd        one visible case: inputs, expected output, mistakes' outputs
"""
from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from grader import __version__
from grader.problems.bank import Bank
from grader.errors import SpecError, UsageError
from grader.kinds import kind_of

from grader.kinds.bundle import CASE_FIELDS, FORMAT, FORMAT_VERSION, INPUT_FIELDS, MANIFEST, PUBLIC_FIELDS  # noqa: F401 - the format
MISTAKE_FIELDS = ("name", "feedback", "hint")


@dataclass
class ReleaseReport:
    """What `release` wrote: the bundle's folder, its package name, and per problem a summary line."""

    out: Path
    package: str
    lines: list[str] = field(default_factory=list)


def package_name(assignment_name: str) -> str:
    """A Python package name for the bundle, from the assignment's name ("Homework 1" -> grader_bundle_homework_1)."""
    slug = re.sub(r"[^a-z0-9]+", "_", assignment_name.lower()).strip("_")[:40].rstrip("_")
    return f"grader_bundle_{slug}" if slug else "grader_bundle"


def release(assignment_path: Path | str, out: Path | str, bank: Bank | None = None) -> ReleaseReport:
    """Write the student bundle of the assignment at `assignment_path` into the empty folder `out`."""
    from grader.classes.assignment import load_assignment

    bank = bank or Bank()
    assignment = load_assignment(assignment_path, bank)
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        raise UsageError(f"{out}: already exists and is not an empty folder",
                         "Give --out a new or empty folder; a bundle is written whole, never over another.")
    package = package_name(assignment.name)
    root = out / package
    files: dict[str, bytes] = {"__init__.py": b""}
    problems, report = [], ReleaseReport(out=out, package=package)
    for item in assignment.problems:
        problem = item.problem
        how = kind_of(problem.kind).release_as
        if how == "cases":
            entry, case_files, line = _function_entry(problem, bank, assignment)
            files.update(case_files)
        elif how == "question":
            entry, line = _question_entry(problem, bank), f"{problem.id}: {problem.kind} question (answer graded at submission)"
        else:
            raise SpecError(f"{problem.path}: problems of kind '{problem.kind}' cannot be released in a bundle yet")
        files[f"problems/{problem.id}.json"] = _json(entry)
        problems.append({"id": problem.id, "kind": problem.kind, "file": f"problems/{problem.id}.json"})
        report.lines.append(line)
    manifest = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "engine_version": __version__,
        "assignment": assignment.name, "seed": 0, "limits": dict(assignment.limits), "problems": problems,
        "files": {name: {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
                  for name, data in sorted(files.items())},
    }
    for name, data in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    (root / MANIFEST).write_bytes(_json(manifest))
    (out / "pyproject.toml").write_text(_pyproject(package, assignment.name), encoding="utf-8")
    return report


def _json(data) -> bytes:
    return json.dumps(data, indent=1, sort_keys=True, allow_nan=False, ensure_ascii=False).encode("utf-8")


def _pyproject(package: str, assignment_name: str) -> str:
    """A data-only distribution: the bundle's folder as one package with its JSON and frames."""
    description = json.dumps(f"Student bundle of {assignment_name} (grader check --bundle {package})")
    return (f'[build-system]\nrequires = ["setuptools>=61"]\nbuild-backend = "setuptools.build_meta"\n\n'
            f'[project]\nname = "{package.replace("_", "-")}"\nversion = "{__version__}"\n'
            f'description = {description}\nrequires-python = ">=3.10"\n\n'
            f'[tool.setuptools]\npackages = ["{package}"]\n\n'
            f'[tool.setuptools.package-data]\n{package} = ["*.json", "problems/*.json", "cases/*/*.grd"]\n')


def public_spec(problem) -> dict:
    """The problem's spec as a student may see it: whitelisted fields, visible cases only."""
    spec = {key: problem.spec[key] for key in PUBLIC_FIELDS if key in problem.spec}
    spec["points"] = problem.points  # the assignment's points
    spec["inputs"] = {name: {k: v for k, v in value.items() if k in INPUT_FIELDS}
                      for name, value in problem.spec.get("inputs", {}).items()}
    spec["cases"] = [{k: v for k, v in case.items() if k in CASE_FIELDS}
                     for case in problem.cases if case.get("visible")]  # a speed test's timing: hidden_tests
    spec["mistakes"] = [{k: v for k, v in m.items() if k in MISTAKE_FIELDS} for m in problem.spec.get("mistakes", [])]
    return spec


def hidden_tests(problem) -> list[dict]:
    """The tests the course grades but a bundle cannot: hidden cases on each of their devices, speed
    tests (they need the reference's time) and gradient checks; each as its weight, devices and sort."""
    from grader.kinds.function import performance
    from grader.kinds.function.gradcheck import gradcheck_case_dicts
    from grader.kinds.function.kind import case_devices

    tests = []
    for case in problem.cases:
        devices = case_devices(problem, case)
        if not case.get("visible"):
            tests.append({"sort": "case", "weight": float(case.get("weight", 1)), "devices": devices})
        config = performance.speed_config(case)
        if config:
            tests.append({"sort": "speed", "weight": float(config["weight"]), "devices": devices})
    tests += [{"sort": "gradcheck", "weight": float(case.get("weight", 1)), "devices": ["cpu"]}
              for case in gradcheck_case_dicts(problem)]
    return tests


def _function_entry(problem, bank: Bank, assignment) -> tuple[dict, dict[str, bytes], str]:
    """A function problem's public entry and its visible cases' frames."""
    from grader.sandbox import codec
    from grader.problems.inputs import case_arguments
    from grader.kinds.function.kind import CANNOT_RUN, PreparedCase, evaluate, mistake_output, policy_tests, prepare_cases
    from grader.problems.spec import Problem

    comparator = problem.spec.get("comparator")
    if isinstance(comparator, dict) and comparator.get("type") == "custom":
        raise SpecError(f"{problem.path}: '{problem.id}' uses a custom check from reference/, which a student "
                        "bundle cannot carry", "Leave it out of the released assignment, or use a built-in comparator.")
    spec = public_spec(problem)
    reference = bank.load_callable(problem.spec["reference"])
    precision = problem.spec.get("reference_precision", "float64")
    frames, cases, visible = {}, [], []
    for index, case in enumerate(spec["cases"]):
        full = problem.case(case["name"])
        args = case_arguments(problem, full, 0)
        expected = evaluate(reference, args, precision, f"{problem.path}: the reference on case '{case['name']}'")
        prepared = PreparedCase(full, args, None, expected)
        mistakes = []
        for mistake in problem.spec.get("mistakes", []):
            output = mistake_output(problem, bank, prepared, mistake)
            mistakes.append([mistake["name"], False, None] if output is CANNOT_RUN else [mistake["name"], True, output])
        value = {"args": [[a.name, a.value, a.keyword] for a in args], "expected": expected, "mistakes": mistakes}
        try:
            data = codec.encode(value)
        except codec.EncodeError as exc:
            raise SpecError(f"{problem.path}: case '{case['name']}' cannot be written to a bundle: {exc}") from None
        name = f"cases/{problem.id}/{index}.grd"
        frames[name] = data
        cases.append({"name": case["name"], "file": name})
        visible.append(prepared)
    # Both sides must add the same policy tests ("keeps dtype"), or the visible tests' points would differ.
    public = Problem(id=problem.id, title=problem.title, topic=problem.topic, points=problem.points,
                     kind=problem.kind, statement=problem.statement, path=problem.path, bank_root=problem.bank_root,
                     spec=spec)
    everything = [p for p in prepare_cases(problem, bank, 0, "all") if not p.skipped] if visible else []
    if visible and policy_tests(problem, everything) != policy_tests(public, visible):
        raise SpecError(f"{problem.path}: the visible cases do not show the policy tests the hidden ones add "
                        f"({', '.join(policy_tests(problem, everything))})",
                        "Make a case whose output is a float array visible.")
    hidden = hidden_tests(problem)
    entry = {"id": problem.id, "kind": "function", "spec": spec, "cases": cases, "hidden": hidden}
    counts = {sort: sum(t["sort"] == sort for t in hidden) for sort in ("case", "speed", "gradcheck")}
    line = (f"{problem.id}: {len(cases)} visible case(s); graded at submission: {counts['case']} hidden case(s), "
            f"{counts['speed']} speed test(s), {counts['gradcheck']} gradient check(s)")
    return entry, frames, line


def _question_entry(problem, bank: Bank) -> dict:
    """A numeric or choice question: what `grader show` prints for seed 0, never the answer."""
    from grader.authoring.show import describe_problem

    shown = describe_problem(problem, 0, None, bank)
    shown["points"] = problem.points
    return {"id": problem.id, "kind": problem.kind, "show": shown}
