"""The student bundle (issue 15, item 1): `grader release`, then `grader check/show --bundle`.

A bundle must hold nothing secret (reference and mistake source, hidden inputs and outputs,
what rebuilds them), and a student holding only the bundle must get the same verdicts and
messages on the visible cases as with the bank. A damaged or hostile bundle is a usage error.
"""
from __future__ import annotations

import ast
import hashlib
import inspect
import json
import os
import shutil
import struct
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest
from click.testing import CliRunner

from grader.sandbox import codec
from grader.problems.bank import Bank
from grader.classes.assignment import load_assignment
from grader.cli.main import main
from grader.kinds.function.gradcheck import gradcheck_case_dicts
from grader.problems.inputs import case_arguments
from grader.kinds.function.kind import CANNOT_RUN, PreparedCase, evaluate, mistake_output

ROOT = Path(__file__).resolve().parent.parent
EXAMPLES = ROOT / "examples"
ASSIGNMENT = EXAMPLES / "assignment.yaml"
PROBLEMS = ["sigmoid-backward", "adam-step", "coin-entropy", "conv-output-size", "attention"]
#: Volatile fields of `grader check --json`: times, and where the submission lives.
VOLATILE = ("seconds", "timing")


def run_cli(*args, env: dict | None = None):
    result = CliRunner().invoke(main, [str(a) for a in args], catch_exceptions=False, env=env)
    return result


@pytest.fixture(scope="module")
def released(tmp_path_factory) -> Path:
    """examples/assignment.yaml released once for the whole module, through the real CLI."""
    out = tmp_path_factory.mktemp("release") / "hw1"
    result = run_cli("release", ASSIGNMENT, "--out", out)
    assert result.exit_code == 0, result.output + result.stderr
    assert "wrote" in result.output
    return out


def package_dir(out: Path) -> Path:
    (inner,) = [p for p in out.iterdir() if (p / "manifest.json").is_file()]
    return inner


def bundle_files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}


def copy_bundle(released: Path, tmp_path: Path) -> Path:
    target = tmp_path / "bundle"
    shutil.copytree(released, target)
    return package_dir(target)


def rewrite(package: Path, name: str, data: bytes, keep_manifest: bool = False) -> None:
    """Replace a bundle file; unless `keep_manifest`, the manifest is updated to agree with it."""
    (package / name).write_bytes(data)
    if keep_manifest:
        return
    manifest = json.loads((package / "manifest.json").read_text())
    manifest["files"][name] = {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    (package / "manifest.json").write_text(json.dumps(manifest))


# ---------------------------------------------------------------- what the bundle holds

def test_release_writes_a_versioned_manifest_and_an_installable_package(released):
    package = package_dir(released)
    manifest = json.loads((package / "manifest.json").read_text())
    assert manifest["format"] == "grader-bundle" and manifest["format_version"] == 1
    from grader import __version__

    assert manifest["engine_version"] == __version__
    assert [p["id"] for p in manifest["problems"]] == PROBLEMS
    for name, listed in manifest["files"].items():
        data = (package / name).read_bytes()
        assert listed == {"size": len(data), "sha256": hashlib.sha256(data).hexdigest()}
    pyproject = (released / "pyproject.toml").read_text()
    assert f'packages = ["{package.name}"]' in pyproject
    entry = json.loads((package / "problems" / "sigmoid-backward.json").read_text())
    assert [c["name"] for c in entry["spec"]["cases"]] == ["small", "vector"]
    assert entry["spec"]["starter"] and entry["spec"]["entry_point"]["name"] == "sigmoid_backward"
    assert [m["name"] for m in entry["spec"]["mistakes"]][:2] == ["missing-upstream-gradient", "x-instead-of-sigmoid"]


def test_release_refuses_a_folder_that_is_not_empty(tmp_path):
    (tmp_path / "old.txt").write_text("keep me")
    result = run_cli("release", ASSIGNMENT, "--out", tmp_path)
    assert result.exit_code == 2 and "not an empty folder" in result.stderr
    assert (tmp_path / "old.txt").read_text() == "keep me"


def _function_body_lines(func) -> list[str]:
    """Distinctive lines of a function's body (not its signature or docstring)."""
    source = textwrap.dedent(inspect.getsource(func))
    node = ast.parse(source).body[0]
    body = node.body[1:] if ast.get_docstring(node) else node.body
    lines = source.splitlines()
    found = []
    for statement in body:
        for line in lines[statement.lineno - 1:statement.end_lineno]:
            line = line.split("#")[0].strip()
            if len(line) >= 12:
                found.append(line)
    return found


def _texts(out: Path) -> str:
    """Every file of the bundle as text: JSON re-read, frames decoded (their headers and strings)."""
    parts = []
    for name, data in bundle_files(out).items():
        parts.append(data.decode("utf-8", "replace"))
        if name.endswith(".json"):
            parts.append(json.dumps(json.loads(data), ensure_ascii=False))
        if name.endswith(".grd"):
            header, value = codec.decode(data, restore_devices=False)
            parts.append(json.dumps(header) + repr(value))
    return "\n".join(parts)


def test_no_reference_or_mistake_source_is_in_the_bundle(released):
    bank = Bank()
    text = _texts(released)
    checked = 0
    for item in load_assignment(ASSIGNMENT, bank).problems:
        problem = item.problem
        # what the course publishes anyway (`grader show`, feedback): starter, statement, hints
        published = "\n".join([problem.spec["starter"], problem.statement, *problem.hints]
                              + [m["feedback"] + m.get("hint", "") for m in problem.spec["mistakes"]])
        refs = [problem.spec["reference"]] + [m["impl"] for m in problem.spec["mistakes"]]
        for ref in refs:
            assert ref not in text
            func = bank.load_callable(ref)
            assert func.__name__ not in text.replace(problem.entry_point, "") or func.__name__ == problem.entry_point
            for line in _function_body_lines(func):
                if line in published:
                    continue
                assert line not in text, f"{ref}: {line!r} is in the bundle"
                checked += 1
    assert checked > 40  # the scan looked at real code, not nothing


def _leaves(value) -> list:
    """Every array and tensor of a decoded value, as NumPy arrays."""
    import torch

    found = []
    if isinstance(value, torch.Tensor):
        found.append((value.to(torch.float64) if value.dtype == torch.bfloat16 else value).numpy())
    elif isinstance(value, np.ndarray):
        found.append(value)
    elif isinstance(value, (list, tuple)):
        for item in value:
            found += _leaves(item)
    elif isinstance(value, dict):
        for item in value.values():
            found += _leaves(item)
    return found


def _hidden_values(problem, bank) -> tuple[list[np.ndarray], list[tuple]]:
    """The arrays of every hidden case (inputs, reference output, mistakes' outputs), and each
    hidden case's scalar arguments, computed from the bank."""
    arrays, scalars = [], []
    hidden = [c for c in problem.cases if not c.get("visible")] + gradcheck_case_dicts(problem)
    reference = bank.load_callable(problem.spec["reference"])
    for case in hidden:
        if case["name"].startswith("gradcheck-"):
            args = case_arguments(problem, case, 0)
        else:
            args = case_arguments(problem, problem.case(case["name"]), 0)
        expected = evaluate(reference, args, problem.spec.get("reference_precision", "float64"), "hidden")
        prepared = PreparedCase(case, args, None, expected)
        outputs = [mistake_output(problem, bank, prepared, m) for m in problem.spec.get("mistakes", [])]
        values = [a.value for a in args] + [expected] + [o for o in outputs if o is not CANNOT_RUN]
        arrays += [a for v in values for a in _leaves(v)]
        scalars.append(tuple(a.value for a in args if not _leaves(a.value)))
    return arrays, scalars


def test_no_hidden_input_or_output_and_nothing_that_rebuilds_them_is_in_the_bundle(released):
    bank = Bank()
    files = bundle_files(released)
    bundled, bundled_scalars = [], []
    for name, data in files.items():
        if name.endswith(".grd"):  # decode every buffer in the bundle
            _, value = codec.decode(data, restore_devices=False)
            bundled += [np.asarray(a, dtype=np.float64).ravel() for a in _leaves(value)]
            bundled_scalars.append(tuple(v for _, v, _ in value["args"] if not _leaves(v)))
    assert len(bundled) > 20
    raw = b"".join(files.values())
    text = _texts(released)
    compared = 0
    for item in load_assignment(ASSIGNMENT, bank).problems:
        problem = item.problem
        arrays, scalars = _hidden_values(problem, bank)
        for array in arrays:
            flat = np.asarray(array, dtype=np.float64).ravel()
            if np.unique(flat[np.isfinite(flat)]).size < 4:
                continue  # not distinctive: zeros, constants, small masks may repeat by design
            assert not any(b.shape == flat.shape and np.array_equal(b, flat, equal_nan=True) for b in bundled), \
                f"{problem.id}: a hidden array is in the bundle"
            if array.dtype.kind == "f":
                assert np.ascontiguousarray(array).astype(array.dtype.newbyteorder("<")).tobytes() not in raw
            compared += 1
        for args in scalars:
            if args and len(args) == len(problem.spec["inputs"]):  # all-scalar cases: conv-output-size
                assert args not in bundled_scalars, f"{problem.id}: a hidden case's arguments are in the bundle"
                compared += 1
        # no hidden case's name, nor the specs that generate inputs (with the seed they rebuild a case)
        entry = json.loads(files[f"{package_dir(released).name}/problems/{problem.id}.json"])
        names = {c["name"] for c in problem.cases if c.get("visible")}
        assert {c["name"] for c in entry["spec"]["cases"]} == names
        assert {c["name"] for c in entry["cases"]} == names
        published = "\n".join([problem.statement, *problem.hints] + [m["feedback"] for m in problem.spec["mistakes"]])
        for case in problem.cases:  # names that are not also a dtype or a word the statement uses
            distinctive = "-" in case["name"] and case["name"] not in published
            if case["name"] not in names and distinctive:
                assert case["name"] not in text, f"{problem.id}: hidden case name {case['name']!r} is in the bundle"
                compared += 1
    assert compared > 100
    secret_keys = {"sizes", "distribution", "reference", "reference_precision", "impl", "gradcheck", "performance",
                   "assumptions", "std", "low", "high", "edge", "scale", "answer", "wrong_answers"}

    def keys(value):
        if isinstance(value, dict):
            for k, v in value.items():
                yield k
                yield from keys(v)
        elif isinstance(value, list):
            for v in value:
                yield from keys(v)

    for name, data in files.items():
        if name.endswith(".json"):
            assert not secret_keys & set(keys(json.loads(data))), name


# ---------------------------------------------------------------- same verdicts as the bank

def _comparable(test: dict, scale: float) -> dict:
    kept = {k: v for k, v in test.items() if k not in VOLATILE}
    kept["score"], kept["max_score"] = round(test["score"] * scale, 9), round(test["max_score"] * scale, 9)
    return kept


@pytest.mark.parametrize("problem_id", PROBLEMS)
@pytest.mark.parametrize("which", ["correct", "buggy"])
def test_bundle_gives_the_banks_visible_verdicts_and_messages(cli, released, problem_id, which, monkeypatch):
    path = EXAMPLES / problem_id / f"{which}.py"
    with_bank = cli("check", problem_id, path, "--json")
    monkeypatch.setattr(Bank, "load_callable", lambda *a, **k: pytest.fail("the bundle check ran bank code"))
    with_bundle = cli("check", problem_id, path, "--json", "--bundle", released)
    bank_data, bundle_data = with_bank.json(), with_bundle.json()
    scale = bank_data["max_score"] / bundle_data["max_score"]  # the assignment may give other points (attention)
    visible_bank = [_comparable(t, 1.0) for t in bank_data["tests"] if t["visible"]]
    visible_bundle = [_comparable(t, scale) for t in bundle_data["tests"] if t["visible"]]
    assert visible_bundle == visible_bank
    assert len(visible_bank) == 2
    assert bundle_data["feedback"] == bank_data["feedback"]
    assert bundle_data["error"] == bank_data["error"]
    assert bundle_data["skipped"] == [t for t in bank_data["skipped"] if t["visible"]]
    for key in ("problem", "title", "kind", "submission", "seed", "student", "stdout", "stderr", "sandbox"):
        assert bundle_data[key] == bank_data[key], key
    # every test the bank ran that the bundle did not is counted as graded at submission
    policy = {"keeps dtype", "leaves inputs unchanged"}
    hidden = [t for t in bank_data["tests"] if not t["visible"] and t["name"] not in policy]
    assert bundle_data["graded_at_submission"]["tests"] == len(hidden)
    assert bundle_data["graded_at_submission"]["max_score"] == pytest.approx(sum(t["max_score"] for t in hidden) / scale)
    visible_failed = any(t["status"] == "failed" for t in bundle_data["tests"])
    assert with_bundle.exit_code == (1 if visible_failed else 0)
    assert with_bank.exit_code == (1 if which == "buggy" else 0)
    if which == "correct":
        assert with_bundle.exit_code == 0


def test_bundle_text_output_says_what_the_course_grades(cli, released):
    result = cli("check", "attention", EXAMPLES / "attention" / "buggy.py", "--bundle", released)
    assert result.exit_code == 1
    assert "This matches a known mistake (mask-after-softmax)" in result.output
    assert "Checked with the student bundle: visible cases only." in result.output
    assert "graded by the course when you submit" in result.output and "speed tests run only at submission" in result.output
    assert "Score:" in result.output and "/ 20" in result.output


def test_rebuild_a_case_from_the_bundle_as_from_the_bank(cli, released):
    for problem_id, case in [("sigmoid-backward", "small"), ("conv-output-size", "lenet"), ("attention", "small-mask")]:
        bank_code = cli("show", problem_id, "--case", case).output
        bundle_code = cli("show", problem_id, "--case", case, "--bundle", released).output
        assignments = [line for line in bank_code.splitlines() if " = " in line and not line.startswith("result")]
        assert assignments and all(line in bundle_code.splitlines() for line in assignments)
    hidden = cli("show", "sigmoid-backward", "--case", "batch", "--bundle", released)
    assert hidden.exit_code == 2 and "no visible case 'batch'" in hidden.stderr


def test_show_from_the_bundle_lists_visible_cases_and_counts_hidden_ones(cli, released):
    result = cli("show", "sigmoid-backward", "--bundle", released)
    assert result.exit_code == 0
    assert "Implement: sigmoid_backward(x, grad_output)" in result.output
    assert "small" in result.output and "x: tensor of shape (2, 3), float32" in result.output
    assert "Hidden tests: 9, graded by the course when you submit" in result.output
    assert "batched-3d" not in result.output


def test_env_variable_and_a_copy_elsewhere_without_any_bank(released, tmp_path):
    """A student's machine: the bundle copied anywhere, no bank (GRADER_BANK points at nothing)."""
    elsewhere = tmp_path / "downloads" / "hw1"
    shutil.copytree(released, elsewhere)
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRADER_BUNDLE": str(elsewhere),
           "GRADER_BANK": str(tmp_path / "no-bank-here")}
    proc = subprocess.run([sys.executable, "-m", "grader", "check", "coin-entropy",
                           str(EXAMPLES / "coin-entropy" / "buggy.py"), "--json"],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 1, proc.stderr
    data = json.loads(proc.stdout)
    assert data["graded_at_submission"]["tests"] == 5
    assert any(t["mistake"] for t in data["tests"])


def test_the_bundle_installs_with_pip_and_is_found_by_name(released, tmp_path):
    target, source = tmp_path / "site", tmp_path / "hw1"
    shutil.copytree(released, source)  # pip builds in the folder it installs
    proc = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-build-isolation", "--no-deps",
                           "--no-index", "--target", str(target), str(source)],
                          capture_output=True, text=True, timeout=300, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr
    package = package_dir(released).name
    assert (target / package / "manifest.json").is_file()
    assert len(list((target / package / "cases").rglob("*.grd"))) == 10
    env = {**os.environ, "PYTHONPATH": f"{ROOT}{os.pathsep}{target}"}
    proc = subprocess.run([sys.executable, "-m", "grader", "check", "conv-output-size",
                           str(EXAMPLES / "conv-output-size" / "correct.py"), "--bundle", package],
                          capture_output=True, text=True, env=env, cwd=tmp_path, timeout=120)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "PASS  lenet" in proc.stdout


def test_seed_or_student_other_than_the_bundles_is_a_usage_error(cli, released):
    path = EXAMPLES / "coin-entropy" / "correct.py"
    for extra in (["--student", "ada"], ["--seed", "3"]):
        result = cli("check", "coin-entropy", path, "--bundle", released, *extra)
        assert result.exit_code == 2 and "seed 0 only" in result.stderr
    assert cli("check", "coin-entropy", path, "--bundle", released, "--seed", "0").exit_code == 0


def test_unknown_problem_in_the_bundle(cli, released):
    result = cli("check", "softmax", EXAMPLES / "coin-entropy" / "correct.py", "--bundle", released)
    assert result.exit_code == 2 and "no problem 'softmax' in the bundle" in result.stderr
    assert "coin-entropy" in result.stderr


# ---------------------------------------------------------------- damaged and hostile bundles

def _expect_usage_error(cli, bundle, *words, problem="coin-entropy"):
    result = cli("check", problem, EXAMPLES / problem / "correct.py", "--bundle", bundle)
    assert result.exit_code == 2, result.output + result.stderr
    assert result.stderr.startswith("Error: ") and "Traceback" not in result.stderr
    for word in words:
        assert word in result.stderr, result.stderr
    return result


def test_missing_bundle_or_a_folder_that_is_not_one(cli, tmp_path):
    _expect_usage_error(cli, tmp_path / "nowhere", "no such bundle folder")
    (tmp_path / "empty").mkdir()
    _expect_usage_error(cli, tmp_path / "empty", "not a student bundle")


def test_corrupted_case_frame(cli, released, tmp_path):
    package = copy_bundle(released, tmp_path)
    frame = package / "cases" / "coin-entropy" / "0.grd"
    data = bytearray(frame.read_bytes())
    data[-3] ^= 0xFF
    rewrite(package, "cases/coin-entropy/0.grd", bytes(data), keep_manifest=True)
    _expect_usage_error(cli, package, "0.grd", "corrupted")


def test_wrong_format_version(cli, released, tmp_path):
    package = copy_bundle(released, tmp_path)
    manifest = json.loads((package / "manifest.json").read_text())
    manifest["format_version"] = 99
    (package / "manifest.json").write_text(json.dumps(manifest))
    _expect_usage_error(cli, package, "format version 99", "this grader reads version 1")


def test_manifest_that_is_not_json_or_is_nested_without_end(cli, released, tmp_path):
    package = copy_bundle(released, tmp_path)
    (package / "manifest.json").write_bytes(b"\xff\xfe{not json")
    _expect_usage_error(cli, package, "manifest.json", "not valid JSON")
    (package / "manifest.json").write_text("[" * 200_000 + "]" * 200_000)
    _expect_usage_error(cli, package, "manifest.json")
    (package / "manifest.json").write_text(json.dumps({"format": "grader-bundle", "format_version": 1}))
    _expect_usage_error(cli, package, "manifest.json", "not a bundle file")


def test_frame_declaring_huge_lengths(cli, released, tmp_path):
    """A frame whose buffer claims 2**60 bytes, with a manifest that agrees: refused, nothing allocated."""
    package = copy_bundle(released, tmp_path)
    header = json.dumps({"tree": {"t": "ndarray", "dtype": "float64", "shape": [2 ** 40, 2 ** 20], "buf": 0}}).encode()
    frame = codec.MAGIC + struct.pack(">I", len(header)) + header + struct.pack(">I", 1) + struct.pack(">Q", 2 ** 60)
    rewrite(package, "cases/coin-entropy/0.grd", frame)
    _expect_usage_error(cli, package, "0.grd", "not a readable case")
    rewrite(package, "cases/coin-entropy/0.grd", (released / package.name / "cases/coin-entropy/0.grd").read_bytes())
    header = json.dumps({"tree": {"t": "list", "items": []}}).encode()  # a header length of 2 GiB
    rewrite(package, "cases/coin-entropy/1.grd", codec.MAGIC + struct.pack(">I", 2 ** 31) + header)
    _expect_usage_error(cli, package, "1.grd")


def test_manifest_that_lies(cli, released, tmp_path):
    package = copy_bundle(released, tmp_path)
    manifest_path = package / "manifest.json"
    original = json.loads(manifest_path.read_text())

    def lie(change):
        manifest = json.loads(json.dumps(original))
        change(manifest)
        manifest_path.write_text(json.dumps(manifest))

    # a size that is not the file's
    lie(lambda m: m["files"]["cases/coin-entropy/0.grd"].update(size=10))
    _expect_usage_error(cli, package, "0.grd", "not the 10 the manifest lists")
    # a file outside the bundle
    lie(lambda m: [p.update(file="../../../etc/passwd") for p in m["problems"] if p["id"] == "coin-entropy"])
    _expect_usage_error(cli, package, "not listed in the manifest")
    lie(lambda m: m["files"].update({"../../../etc/passwd": {"size": 3, "sha256": "0" * 64}})
        or [p.update(file="../../../etc/passwd") for p in m["problems"] if p["id"] == "coin-entropy"])
    _expect_usage_error(cli, package, "cannot be in a bundle")
    # a file that is not there
    lie(lambda m: m["files"].update({"problems/ghost.json": {"size": 3, "sha256": "0" * 64}})
        or [p.update(file="problems/ghost.json") for p in m["problems"] if p["id"] == "coin-entropy"])
    _expect_usage_error(cli, package, "ghost.json", "missing")
    # another problem's file under this id, and another kind
    lie(lambda m: [p.update(file="problems/adam-step.json") for p in m["problems"] if p["id"] == "coin-entropy"])
    _expect_usage_error(cli, package, "describes 'adam-step'")
    lie(lambda m: [p.update(kind="choice") for p in m["problems"] if p["id"] == "coin-entropy"])
    _expect_usage_error(cli, package, "coin-entropy.json")
    # case files that are not the case specs
    entry_path = package / "problems" / "coin-entropy.json"
    entry = json.loads(entry_path.read_text())
    entry["cases"] = entry["cases"][:1]
    lie(lambda m: m["files"].update({"problems/coin-entropy.json": {
        "size": len(json.dumps(entry).encode()), "sha256": hashlib.sha256(json.dumps(entry).encode()).hexdigest()}}))
    saved = entry_path.read_bytes()
    entry_path.write_text(json.dumps(entry))
    _expect_usage_error(cli, package, "case files and case specs do not match")
    entry_path.write_bytes(saved)
    # limits the assignment schema does not allow
    lie(lambda m: m.update(limits={"time": "forever"}))
    _expect_usage_error(cli, package, "manifest.json", "$.time")
    # a file the manifest does not list
    lie(lambda m: m["files"].pop("cases/coin-entropy/1.grd"))
    _expect_usage_error(cli, package, "not listed in the manifest")


def test_a_symlink_in_the_bundle_is_not_followed(cli, released, tmp_path):
    package = copy_bundle(released, tmp_path)
    secret = tmp_path / "secret.json"
    shutil.copy(package / "problems" / "coin-entropy.json", secret)
    (package / "problems" / "coin-entropy.json").unlink()
    (package / "problems" / "coin-entropy.json").symlink_to(secret)
    _expect_usage_error(cli, package, "not a regular file")
    package = copy_bundle(released, tmp_path / "second")  # a linked folder on the way to a file
    shutil.move(package / "cases", tmp_path / "cases-elsewhere")
    (package / "cases").symlink_to(tmp_path / "cases-elsewhere")
    _expect_usage_error(cli, package, "0.grd", "not a regular file")


def test_frame_without_every_mistake(cli, released, tmp_path):
    package = copy_bundle(released, tmp_path)
    _, value = codec.decode((package / "cases" / "coin-entropy" / "0.grd").read_bytes(), restore_devices=False)
    value["mistakes"] = value["mistakes"][1:]
    rewrite(package, "cases/coin-entropy/0.grd", codec.encode(value))
    _expect_usage_error(cli, package, "every known mistake")


def test_spec_values_the_schema_forbids(cli, released, tmp_path):
    """A problem file whose spec breaks the bank's own rules (a strictness that is not a mapping,
    an unknown dtype, a custom check) is refused before grading starts."""
    for change, words in [(lambda spec: spec.update(strictness="all"), "$.strictness"),
                          (lambda spec: spec["cases"][0].update(dtype="float7"), "$.cases[0].dtype"),
                          (lambda spec: spec.update(comparator={"type": "custom", "check": "x:y"}), "custom check")]:
        package = copy_bundle(released, tmp_path / str(len(words)) / words[:3].strip("$."))
        entry = json.loads((package / "problems" / "coin-entropy.json").read_text())
        change(entry["spec"])
        rewrite(package, "problems/coin-entropy.json", json.dumps(entry).encode())
        _expect_usage_error(cli, package, "coin-entropy.json", words)


def test_questions_are_released_without_their_answers(cli, tmp_path):
    """Numeric and choice questions: the bundle shows them (seed 0) but holds no answer, correct
    option, explanation or option feedback; checking one from the bundle says the course grades it."""
    from grader.kinds.numeric import variant

    assignment = tmp_path / "quiz.yaml"
    assignment.write_text("name: week-1\nproblems: [coin-entropy, coin-entropy-quiz, kl-asymmetry-quiz]\n")
    out = tmp_path / "week1"
    result = cli("release", assignment, "--out", out)
    assert result.exit_code == 0, result.stderr
    assert "coin-entropy-quiz: numeric question (answer graded at submission)" in result.output
    text = _texts(out)
    bank = Bank()
    answer = variant(bank.get("coin-entropy-quiz"), bank, 0).answer
    assert repr(answer) not in text and f"{answer:.4f}" not in text
    for secret in ("questions:coin_entropy_bits", "Gibbs' inequality", "is not symmetric", "KL is a divergence",
                   '"correct"', '"explanation"'):
        assert secret not in text
    shown = cli("show", "kl-asymmetry-quiz", "--bundle", out)
    assert shown.exit_code == 0 and "Which statements about KL divergence are true?" in shown.output
    assert "H(P, Q) = H(P) + D_KL(P ‖ Q)" in shown.output
    assert "A coin lands heads with probability p =" in cli("show", "coin-entropy-quiz", "--bundle", out).output
    answers = tmp_path / "answers.yaml"
    answers.write_text("coin-entropy-quiz: 0.5\n")
    checked = cli("check", "coin-entropy-quiz", answers, "--bundle", out)
    assert checked.exit_code == 2 and "checked only by the course" in checked.stderr


def _bank_with_changed_coin_entropy(tmp_path: Path, change) -> Path:
    import yaml

    bank = tmp_path / "bank"
    shutil.copytree(ROOT / "reference", bank / "reference")
    (bank / "problems" / "entropy").mkdir(parents=True)
    spec = yaml.safe_load((ROOT / "problems" / "entropy" / "coin-entropy.yaml").read_text())
    change(spec)
    (bank / "problems" / "entropy" / "coin-entropy.yaml").write_text(yaml.safe_dump(spec))
    return bank


def test_a_problem_without_visible_cases_is_released_and_says_so(cli, tmp_path):
    bank = _bank_with_changed_coin_entropy(tmp_path, lambda spec: [c.pop("visible", None) for c in spec["cases"]])
    assignment = tmp_path / "a.yaml"
    assignment.write_text("name: hidden\nproblems: [coin-entropy]\n")
    result = cli("--bank", bank, "release", assignment, "--out", tmp_path / "out")
    assert result.exit_code == 0 and "0 visible case(s); graded at submission: 7 hidden" in result.output
    checked = cli("check", "coin-entropy", EXAMPLES / "coin-entropy" / "correct.py", "--bundle", tmp_path / "out")
    assert checked.exit_code == 2 and "has no visible cases" in checked.stderr


def test_a_visible_case_with_a_speed_test_keeps_its_points(cli, tmp_path):
    """A visible case's correctness test runs from the bundle; its speed test (it needs the
    reference's time) is left to the course and still takes its share of the points."""
    def add_speed_test(spec):
        (case,) = [c for c in spec["cases"] if c["name"] == "random"]
        case["performance"] = {"max_ratio": 1000, "weight": 2}

    bank = _bank_with_changed_coin_entropy(tmp_path, add_speed_test)
    assignment = tmp_path / "a.yaml"
    assignment.write_text("name: speed\nproblems: [coin-entropy]\n")
    assert cli("--bank", bank, "release", assignment, "--out", tmp_path / "out").exit_code == 0
    path = EXAMPLES / "coin-entropy" / "correct.py"
    with_bank = cli("--bank", bank, "check", "coin-entropy", path, "--json").json()
    with_bundle = cli("check", "coin-entropy", path, "--json", "--bundle", tmp_path / "out").json()
    assert "random (speed)" in [t["name"] for t in with_bank["tests"]]
    same = [_comparable(t, 1.0) for t in with_bank["tests"] if t["visible"] and not t["name"].endswith("(speed)")]
    assert [_comparable(t, 1.0) for t in with_bundle["tests"] if t["visible"]] == same
    assert [t["name"] for t in with_bundle["tests"] if t["visible"]] == ["fair-and-biased", "random"]
    assert with_bundle["graded_at_submission"]["speed_tests"] == 1
    hidden = [t for t in with_bank["tests"] if not t["visible"] or t["name"].endswith("(speed)")]
    hidden = [t for t in hidden if t["name"] not in ("keeps dtype", "leaves inputs unchanged")]
    assert with_bundle["graded_at_submission"]["tests"] == len(hidden)
    assert "speed tests run only at submission" in with_bundle["graded_at_submission"]["note"]


def test_start_writes_the_starter_from_the_bundle(cli, released, tmp_path):
    target = tmp_path / "mine.py"
    result = cli("start", "attention", target, "--bundle", released)
    assert result.exit_code == 0 and "grader check attention" in result.output
    assert target.read_text() == Bank().get("attention").spec["starter"]
