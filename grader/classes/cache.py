"""Stable job ids and the result cache that lets a regrade skip what did not change.

A grading job is identified by the content hash of everything its result depends on: the
submission's files, the problem spec (with the assignment's points), the reference sources and
data files (a training problem's fixtures), the seed, the limits and the engine version (the
grader package's own source). The same id twice means the same result, so a re-run records one
result per id, and a scheduler (the local pool today, Ray tomorrow) may run a job again without
changing anything.

Results are stored as JSON under `<out>/.cache/<id[:2]>/<id>.json`. Only results the student's
code caused are cached; a grader failure is retried on the next run.
"""
from __future__ import annotations

import json
import os
import tempfile
from dataclasses import fields
from pathlib import Path
from typing import Callable

from grader.digests import digest as _digest, engine_version, tree_digest
from grader.result import ProblemResult, Status, TestResult


def canonical(data) -> bytes:
    """JSON with sorted keys: equal data, equal bytes."""
    return json.dumps(data, sort_keys=True, separators=(",", ":"), default=str).encode()


def _reference_imports(path: Path) -> set[str]:
    """Names of reference modules that a reference module imports (`from . import x`, `from .x import y`)."""
    import ast

    try:
        tree = ast.parse(path.read_text(encoding="utf-8"))
    except (OSError, SyntaxError, ValueError):
        return set()
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level >= 1:
                base = module.split(".") if module else []
                if base:
                    names.add(".".join(base))
                names.update(".".join(base + [a.name]) for a in node.names)
            elif module == "reference" or module.startswith("reference."):
                rest = module.split(".")[1:]
                if rest:
                    names.add(".".join(rest))
                names.update(".".join(rest + [a.name]) for a in node.names)
        elif isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name.startswith("reference."):
                    names.add(alias.name.split(".", 1)[1])
    return names


def reference_digest(reference_dir: Path, spec: dict, data_folders: list[Path] = ()) -> str:
    """A digest of the reference sources a problem depends on (its reference, its mistakes and what
    they import) and of every file in `data_folders` (a training problem's fixtures, Kind.data_folders)."""
    todo = [str(spec.get("reference", "")).partition(":")[0]]
    todo += [str(m.get("impl", "")).partition(":")[0] for m in spec.get("mistakes", [])]
    todo.append(str(spec.get("data", "")).partition(":")[0])  # a training problem's data function
    comparator = spec.get("comparator")
    if isinstance(comparator, dict):
        todo += [str(v).partition(":")[0] for v in comparator.values() if isinstance(v, str) and ":" in v]
    seen: set[Path] = set()
    parts = []
    init = reference_dir / "__init__.py"
    if init.is_file():
        parts += [b"__init__.py", init.read_bytes()]
    while todo:
        name = todo.pop()
        if not name:
            continue
        for candidate in (reference_dir / (name.replace(".", "/") + ".py"),
                          reference_dir / name.replace(".", "/") / "__init__.py"):
            if candidate.is_file() and candidate not in seen:
                seen.add(candidate)
                parts += [candidate.relative_to(reference_dir).as_posix().encode(), candidate.read_bytes()]
                todo += sorted(_reference_imports(candidate))
    for folder in data_folders:  # none for most problems: their digest is as it always was
        parts += [b"data", tree_digest(folder, ("*",)).encode()]
    return _digest(*parts)


def files_digest(files: dict[str, bytes]) -> str:
    parts = []
    for name in sorted(files):
        parts += [name.encode(), files[name]]
    return _digest(*parts)


def job_id(*, files: dict[str, bytes], problem_spec: dict, points: float, reference: str, seed: int,
           limits: dict, module_name: str | None, engine: str | None = None,
           device: str = "all", devices: list[str] | None = None, protections: str | None = None) -> str:
    """The content hash that identifies one grading job.

    `device` is the --device selection and `devices` the devices cases can run on here (a
    result graded without a GPU, its CUDA cases skipped, is not the result on a machine with one).
    `protections` is `sandbox.fingerprint()` by default: a result graded under weaker confinement
    is never reused under the full sandbox, nor the other way round."""
    return problem_job_ids(problem_spec=problem_spec, points=points, reference=reference, limits=limits,
                           module_name=module_name, engine=engine, device=device, devices=devices,
                           protections=protections)(files_digest(files), seed)


def problem_job_ids(*, problem_spec: dict, points: float, reference: str, limits: dict, module_name: str | None,
                    engine: str | None = None, device: str = "all", devices: list[str] | None = None,
                    protections: str | None = None) -> Callable[[str, int], str]:
    """`job_id` for one problem of a class: everything but the submission and the seed is encoded
    once (the spec's canonical JSON was most of the grader's work per job id). The returned
    `ids(files_digest(files), seed)` is exactly `job_id(files=files, seed=seed, ...)`; a student's
    files are digested once for all the problems."""
    if protections is None:
        from grader.sandbox.confine import fingerprint

        protections = fingerprint()
    spec, worth, ref = canonical(problem_spec), canonical(points), reference.encode()
    rest = (canonical(limits), canonical(module_name), (engine or engine_version()).encode(),
            canonical([device, devices or ["cpu"]]), protections.encode())

    def ids(files: str, seed: int) -> str:
        return _digest(b"grader-job-1", files.encode(), spec, worth, ref, canonical(seed), *rest)
    return ids


def result_from_dict(data: dict) -> ProblemResult:
    """Rebuild a ProblemResult from its `to_dict()` form."""
    test_names = {f.name for f in fields(TestResult)}

    def tests_of(key: str) -> list[TestResult]:
        return [TestResult(**{k: (Status(v) if k == "status" else v) for k, v in t.items() if k in test_names})
                for t in data.get(key, [])]

    names = {f.name for f in fields(ProblemResult)}
    values = {k: v for k, v in data.items() if k in names and k not in ("tests", "skipped")}
    return ProblemResult(tests=tests_of("tests"), skipped=tests_of("skipped"), **values)


class ResultCache:
    """Results by job id under `root` (usually `<out>/.cache`)."""

    def __init__(self, root: Path | str):
        self.root = Path(root)

    def _path(self, job: str) -> Path:
        return self.root / job[:2] / f"{job}.json"

    def get(self, job: str) -> ProblemResult | None:
        path = self._path(job)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            if data.get("job") != job:
                return None
            return result_from_dict(data["result"])
        except (OSError, ValueError, KeyError, TypeError):
            return None  # missing or damaged: grade again

    def put(self, job: str, result: ProblemResult) -> None:
        if result.grader_error:
            return
        path = self._path(job)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".tmp-", suffix=".json")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            json.dump({"job": job, "engine": engine_version(), "result": result.to_dict()}, fh)
        os.replace(tmp, path)  # atomic: a crash never leaves half an entry
