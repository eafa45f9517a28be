"""`grader validate`: prove that problems are right and strong before students see them.

For every function problem under a path (a spec file, a topic folder, or the whole bank):

1. spec: the schema and the consistency rules (comparator and gradcheck fields included);
2. statement: names the entry point;
3. reference: the reference, run as a submission through the real child executor (ONE child
   per problem, every case on every listed device that is available; the others are reported
   as skipped), passes its own cases with the problem's comparator and tolerances;
4. mistakes: every known mistake fails at least one HIDDEN case (evaluated in this process,
   compared exactly as a student would be), and is recognised as itself when it does, so its
   feedback reaches students; the kill rate is reported per problem and overall;
5. inputs: the same seed gives the same inputs; problems with random inputs get different
   inputs for different seeds;
6. starter: grading the starter stub through the engine scores 0 without a grader error;
7. speed (cases with `performance`): the reference, timed in a child, takes long enough to
   time, and the spec's known slow solution is right but fails the speed test.

Question kinds (numeric, choice) get the spec check and a draw of their parameters for two
seeds. Every spec loads first; then problems run in parallel threads (each child is a
process), on a fork server whose template is warmed up for training when a selected problem's
kind trains models (Kind.trains_models).

Exit status of the CLI: 0 all valid, 1 any check failed, 2 a spec is malformed.
"""
from __future__ import annotations

import concurrent.futures
import contextlib
import os
import time
from pathlib import Path

from grader.errors import SpecError, UsageError
from grader.kinds import kind_of, trains_models
from grader.problems.bank import Bank
from grader.problems.reference import forget_reference_modules, register_reference_package
from grader.result import ProblemReport, ValidationReport



# ---------------------------------------------------------------- which specs


def find_bank_root(path: Path) -> Path | None:
    """The folder holding problems/ that `path` lies under."""
    path = path.resolve()
    for folder in [path, *path.parents]:
        if folder.name == "problems" and (folder.parent / "reference").is_dir():
            return folder.parent
        if (folder / "problems").is_dir() and (folder / "reference").is_dir() and folder != path:
            return folder
    return None


def spec_files(path: Path | None, bank: Bank) -> list[Path]:
    """Spec files selected by `path` (a .yaml file, a folder) or the whole bank."""
    if path is None:
        return sorted(bank.spec_paths().values())
    path = Path(path)
    if path.is_file():
        if path.suffix not in (".yaml", ".yml"):
            raise UsageError(f"{path}: not a problem spec (.yaml)")
        return [path]
    if path.is_dir():
        files = sorted(path.rglob("*.yaml"))
        if not files:
            raise UsageError(f"{path}: no .yaml problem specs in this folder")
        return files
    raise UsageError(f"{path}: no such file or folder", "Give a spec file, a topic folder, or nothing for the whole bank.")


# ---------------------------------------------------------------- the checks


def validate(path: Path | str | list | tuple | None = None, *, bank: Bank | None = None, executor=None,
             workers: int | None = None, progress=None) -> ValidationReport:
    """Validate the problems under `path` (a spec, a folder, a list of them; default: the whole bank)."""
    start = time.monotonic()
    forget_reference_modules()  # a long-lived process sees the instructor's latest edits
    paths = [Path(p) for p in path] if isinstance(path, (list, tuple)) else [Path(path)] if path is not None else []
    if bank is None:
        bank = Bank(find_bank_root(paths[0]) if paths else None)
    files = [f for p in paths for f in spec_files(p, bank)] if paths else spec_files(None, bank)
    loaded = [load_spec(f, bank) for f in files]
    own_executor = executor is None
    if own_executor:
        executor = default_executor(training=trains_models(problem for _, problem in loaded))
    try:
        return _validate_loaded(loaded, bank, executor, workers, progress, start)
    finally:
        close = getattr(executor, "close", None) if own_executor else None
        if close:
            close()


def default_executor(training: bool = False):
    """The warm fork server when this install has it (children in milliseconds), else a fresh
    Python per job. `training`: its template is warmed up for children that train models."""
    try:
        from grader.classes.pool import AutoExecutor
    except ImportError:
        from grader.sandbox.runner import SubprocessExecutor

        return SubprocessExecutor()
    return AutoExecutor("fork", training=training)


def _validate_loaded(loaded, bank, executor, workers, progress, start) -> ValidationReport:
    workers = workers or max(1, min(len(loaded), os.cpu_count() or 1))
    if (bank.reference_dir / "__init__.py").exists():
        register_reference_package(bank.reference_dir)  # once, before threads import from it

    def one(report_and_problem) -> ProblemReport:
        report = check_problem(*report_and_problem, bank, executor)
        if progress:
            progress(report)
        return report

    if workers == 1 or len(loaded) == 1:
        reports = [one(item) for item in loaded]
    else:
        with concurrent.futures.ThreadPoolExecutor(max_workers=workers) as pool:
            reports = list(pool.map(one, loaded))
    return ValidationReport(reports, seconds=time.monotonic() - start)


def validate_file(spec_path: Path, bank: Bank, executor) -> ProblemReport:
    return check_problem(*load_spec(spec_path, bank), bank, executor)


def load_spec(spec_path: Path, bank: Bank):
    """(its report, the problem; None when the spec did not load: the report says why)."""
    start = time.monotonic()
    report = ProblemReport(problem=spec_path.stem, path=str(spec_path))
    problem = None
    with _failures_reported(report, "spec"):
        loaded = bank.load(spec_path)
        report.problem, report.kind = loaded.id, loaded.kind
        if loaded.id != spec_path.stem:
            raise SpecError(f"{spec_path}: $.id: the id '{loaded.id}' must match the file name '{spec_path.stem}'")
        report.add("spec", True)
        problem = loaded
    report.seconds = time.monotonic() - start
    return report, problem


def check_problem(report: ProblemReport, problem, bank: Bank, executor) -> ProblemReport:
    """The kind's checks of a loaded problem, added to its report."""
    if problem is None:
        return report
    start = time.monotonic()
    with _failures_reported(report, "run"):
        kind_of(problem.kind).validate(problem, bank, executor, report)
    report.seconds += time.monotonic() - start
    return report


@contextlib.contextmanager
def _failures_reported(report: ProblemReport, check: str):
    """What the block raises, as a failed check of `report`: a validation reports every problem
    instead of stopping at one. A SpecError fails `check` ("spec": the spec itself did not load,
    and the report is malformed); anything else is the grader's own ("internal")."""
    try:
        yield
    except SpecError as exc:
        if check == "spec":
            report.malformed = True
        report.add(check, False, str(exc))
    except Exception as exc:  # noqa: BLE001 - see above
        report.add("internal", False, f"{type(exc).__name__}: {exc}")
