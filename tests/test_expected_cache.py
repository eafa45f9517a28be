"""The expected-outputs cache (grader/problems/expected_cache.py), through the real `grader check`.

Each test points GRADER_CACHE_DIR at its own folder and, where it edits the bank, grades against
a copy of it (--bank): the sigmoid-backward spec and the reference/ modules.
"""
from __future__ import annotations

import os
import shutil
import stat
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from grader.problems import expected_cache
from grader.problems.locations import cache_folder, private_paths
from grader.sandbox import confine as sandbox

ROOT = Path(__file__).resolve().parent.parent
CORRECT = ROOT / "examples" / "sigmoid-backward" / "correct.py"
BUGGY = ROOT / "examples" / "sigmoid-backward" / "buggy.py"  # forgets grad_output: returns s * (1 - s)
SPEC = ROOT / "problems" / "activations" / "sigmoid-backward.yaml"

NAMESPACES = all(on for name, on, _ in sandbox.protections()
                 if name in ("pid-namespace", "network-namespace", "filesystem-view"))


@pytest.fixture
def check(grader_cmd, tmp_path):
    """grader check with this test's own cache folder (and bank, if given)."""
    cache = tmp_path / "cache"
    env = {**os.environ, "GRADER_CACHE_DIR": str(cache), "PYTHONPATH": str(ROOT)}

    def run(path, *args, bank: Path | None = None):
        bank_args = ["--bank", str(bank)] if bank else []
        return grader_cmd(*bank_args, "check", "sigmoid-backward", path, "--json", *args, env=env, timeout=300)
    run.cache = cache
    return run


@pytest.fixture
def bank(tmp_path):
    """A copy of the bank with only sigmoid-backward in it, to edit."""
    root = tmp_path / "bank"
    (root / "problems" / "activations").mkdir(parents=True)
    shutil.copy(SPEC, root / "problems" / "activations")
    shutil.copytree(ROOT / "reference", root / "reference", ignore=shutil.ignore_patterns("__pycache__"))
    return root


def entries(cache: Path) -> list[Path]:
    return sorted((cache / expected_cache.SUBFOLDER).glob("*.grd"))


def scores(result) -> dict[str, float]:
    return {t["name"]: t["score"] for t in result.json()["tests"]}


@pytest.mark.slow
def test_a_second_check_uses_the_cache_and_an_edited_reference_or_spec_is_computed_afresh(check, bank):
    first = check(CORRECT, bank=bank)
    assert first.exit_code == 0, first.stderr
    [entry] = entries(check.cache)
    # The cache is what the second check believes: a planted (valid) entry changes its verdict.
    values = expected_cache.read(entry, entry.stem)
    assert "small" in values and "gradcheck-small" in values
    values["small"] = values["small"] + 1
    expected_cache.write(entry, entry.stem, values)
    planted = check(CORRECT, bank=bank)
    assert planted.exit_code == 1 and scores(planted)["small"] == 0 and scores(planted)["vector"] > 0
    # A changed reference is another key: the new reference's outputs, never the stored ones.
    module = bank / "reference" / "activations.py"
    source = module.read_text()
    assert source.count("return grad_output * s * (1 - s)") == 1, "update the test with the reference's formula"
    module.write_text(source.replace("return grad_output * s * (1 - s)", "return s * (1 - s)"))
    edited = check(BUGGY, bank=bank)
    assert scores(edited)["small"] > 0 and scores(edited)["batch"] > 0, edited.output
    assert len(entries(check.cache)) == 2
    # So is a changed spec (another size for a case).
    spec = bank / "problems" / "activations" / "sigmoid-backward.yaml"
    spec.write_text(spec.read_text().replace("sizes: {B: 64, D: 128}", "sizes: {B: 8, D: 128}"))
    assert scores(check(BUGGY, bank=bank))["batch"] > 0
    assert len(entries(check.cache)) == 3


def test_known_mistakes_outputs_are_kept_with_the_expected_ones_and_believed_next_time(check):
    """A wrong submission's check computes the known mistakes' outputs on its wrong cases and keeps
    them (grader.kinds.function.kind.mistake_output); the next check reads them instead of running
    the mistakes again: a planted entry changes which mistake its feedback names."""
    first = check(BUGGY)
    assert first.exit_code == 1 and "missing-upstream-gradient" in first.output, first.output
    [entry] = entries(check.cache)
    values = expected_cache.read(entry, entry.stem)
    stored = sorted(name for name in values if name.startswith("mistake "))
    assert "mistake missing-upstream-gradient | small" in stored and "mistake tanh-derivative | small" in stored
    # Swap two mistakes' stored outputs on every case: the next check can only name the other one.
    for name in stored:
        if name.startswith("mistake missing-upstream-gradient | "):
            other = name.replace("missing-upstream-gradient", "tanh-derivative")
            values[name], values[other] = values[other], values[name]
    expected_cache.write(entry, entry.stem, values)
    planted = check(BUGGY)
    assert "tanh-derivative" in planted.output and "missing-upstream-gradient" not in planted.output, planted.output


def test_a_class_run_keeps_the_mistakes_it_met_and_saves_once_at_its_end(grader_cmd, tmp_path, monkeypatch, executor):
    """`grader grade` keeps the known mistakes' outputs its students' wrong cases needed, for the
    next run. A save rewrites a problem's whole cache file, so a class saves once at its end (after
    the expected outputs, at preparation), never once per student."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), "GRADER_CACHE_DIR": str(tmp_path / "cli-cache")}
    out = grader_cmd("grade", ROOT / "examples" / "class", "--assignment", ROOT / "examples" / "assignment.yaml",
                     "--out", tmp_path / "out", env=env, timeout=600)
    assert out.exit_code in (0, 1), out.stderr
    stored = [name for entry in entries(tmp_path / "cli-cache")
              for name in expected_cache.read(entry, entry.stem) if name.startswith("mistake ")]
    assert any(name.startswith("mistake ceil-instead-of-floor | ") for name in stored), stored  # carol's conv mistake

    from grader.classes.assignment import parse_assignment
    from grader.classes.batch import grade_class
    from grader.classes.pool import LocalPool
    from grader.classes.students import find_students
    from grader.problems.bank import Bank

    monkeypatch.setenv("GRADER_CACHE_DIR", str(tmp_path / "cache"))
    saves = []
    save = expected_cache.ExpectedOutputs.save
    monkeypatch.setattr(expected_cache.ExpectedOutputs, "save", lambda self: saves.append(self.key) or save(self))
    root = tmp_path / "class"
    for name in ("a", "b", "c", "d"):
        (root / name).mkdir(parents=True)
        shutil.copy(BUGGY, root / name / "sigmoid_backward.py")
    bank = Bank()
    assignment = parse_assignment({"name": "mistakes", "problems": ["sigmoid-backward"]}, Path("<test>"), bank)
    with LocalPool(jobs=2) as pool:
        report = grade_class(assignment, find_students(root), bank=bank, pool=pool, executor=executor)
    assert all("missing-upstream-gradient" in json_text(s) for s in report.students)
    assert len(saves) == 2 and len(set(saves)) == 1, saves  # prepared, then the class's end
    [entry] = entries(tmp_path / "cache")
    assert any(name.startswith("mistake ") for name in expected_cache.read(entry, entry.stem))


def json_text(student) -> str:
    import json

    return json.dumps([p.to_dict() for p in student.problems])


def test_an_output_that_cannot_be_stored_leaves_the_others_stored(tmp_path):
    """A mistake that cannot run on a case (CANNOT_RUN) or returns what the codec does not carry is
    computed each time; the plain outputs computed with it are still saved."""
    outputs = expected_cache.ExpectedOutputs("k" * 64, tmp_path)
    outputs.get("small", lambda: torch.ones(2))
    outputs.save()
    cannot = object()
    assert outputs.get_if_plain("mistake a | small", lambda: cannot) is cannot
    assert outputs.get_if_plain("mistake b | small", lambda: {1}) == {1}
    assert outputs.get_if_plain("mistake c | small", lambda: torch.zeros(2)).tolist() == [0.0, 0.0]
    big = torch.zeros(expected_cache.MAX_KEPT_MISTAKE_BYTES // 4 + 1)  # a large output: computed each run
    assert outputs.get_if_plain("mistake d | small", lambda: big) is big
    outputs.save()
    again = expected_cache.ExpectedOutputs("k" * 64, tmp_path)
    assert sorted(again.values) == ["mistake c | small", "small"]
    assert again.get_if_plain("mistake c | small", lambda: pytest.fail("computed again")).tolist() == [0.0, 0.0]
    assert expected_cache.ExpectedOutputs(None, None).get_if_plain("x", lambda: 3) == 3  # no cache folder


@pytest.mark.slow
def test_a_truncated_or_corrupt_cache_file_is_recomputed(check):
    assert check(CORRECT).exit_code == 0
    [entry] = entries(check.cache)
    good = entry.read_bytes()
    flipped = bytearray(good)
    flipped[len(good) // 2] ^= 0xFF  # a bit flip inside a tensor still decodes: the checksum catches it
    for damaged in (good[: len(good) // 2], bytes(flipped), b"", b"\0" * 40, b"not a cache file"):
        entry.write_bytes(damaged)
        result = check(CORRECT)
        assert result.exit_code == 0 and result.json()["score"] == 10, (damaged[:20], result.stderr)
        assert expected_cache.read(entry, entry.stem), "the entry is written again, whole"


@pytest.mark.slow
def test_the_cache_folder_is_made_private_and_one_that_is_not_ours_is_not_used(check):
    check.cache.mkdir(mode=0o755)
    os.chmod(check.cache, 0o755)
    assert check(CORRECT).exit_code == 0
    assert stat.S_IMODE(check.cache.stat().st_mode) == 0o700
    [entry] = entries(check.cache)
    assert stat.S_IMODE(entry.parent.stat().st_mode) == 0o700
    assert stat.S_IMODE(entry.stat().st_mode) == 0o600
    if os.geteuid() != 0:
        return  # a normal user cannot give a folder away; the rest needs root
    shutil.rmtree(check.cache)
    check.cache.mkdir(mode=0o777)
    os.chown(check.cache, 65534, 65534)  # someone else's: it could hold forged values
    result = check(CORRECT)
    assert result.exit_code == 0 and result.json()["score"] == 10
    assert list(check.cache.iterdir()) == []


@pytest.mark.skipif(not NAMESPACES, reason="nothing can be hidden from the child without the filesystem view: "
                    "see 'python -m grader.sandbox' and docs/threat-model.md")
def test_a_submission_cannot_see_the_cache(check, submission):
    assert check(CORRECT).exit_code == 0
    [entry] = entries(check.cache)
    snoop = submission(f'''
        import os

        def sigmoid_backward(x, grad_output):
            seen = [os.path.join(d, f) for d, _, files in os.walk({str(check.cache)!r}) for f in files]
            try:
                with open({str(entry)!r}, "rb") as fh:
                    read = f"read {{len(fh.read())}} bytes"
            except OSError as exc:
                read = type(exc).__name__
            raise RuntimeError(f"SNOOP seen={{seen}} read={{read}}")
        ''')
    result = check(snoop)
    outputs = [t["output"] for t in result.json()["tests"] if "SNOOP" in t["output"]]
    assert outputs, result.output
    for text in outputs:
        assert "seen=[]" in text and "read bytes" not in text, text
        assert "read=FileNotFoundError" in text or "read=PermissionError" in text, text
    assert entry.stat().st_size > 1000  # it was there all along, and readable to this process


class Stop(Exception):
    pass


def test_every_job_hides_the_cache_folder(monkeypatch, tmp_path):
    """The child's filesystem view leaves out the folders a job names in `hide` (and any folder
    holding one): the cache must be among them wherever it is."""
    from grader.grading import grade

    monkeypatch.setenv("GRADER_CACHE_DIR", str(tmp_path / "cache"))
    jobs = []

    class Recorder:
        def run(self, job):
            jobs.append(job)
            raise Stop

    with pytest.raises(Stop):
        grade("sigmoid-backward", CORRECT, executor=Recorder())
    assert str((tmp_path / "cache").resolve()) in jobs[0].hide


def test_the_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.delenv("GRADER_CACHE_DIR", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert cache_folder() == (tmp_path / "xdg" / "grader").resolve()
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert cache_folder() == (tmp_path / "home" / ".cache" / "grader").resolve()
    monkeypatch.setenv("GRADER_CACHE_DIR", str(tmp_path / "mine"))
    assert cache_folder() == (tmp_path / "mine").resolve()
    assert str((tmp_path / "mine").resolve()) in private_paths()


@pytest.mark.parametrize("value", [
    torch.arange(6, dtype=torch.bfloat16).reshape(2, 3), torch.tensor(float("nan")), (torch.ones(2), 3, 2.5),
    np.float32(1.5), np.arange(4.0), {"m": torch.zeros(3, dtype=torch.float16), "n": [1, None]},
])
def test_plain_values_read_back_identical(value):
    assert expected_cache.round_trips(value)


def test_a_value_that_would_not_read_back_identical_is_not_stored(tmp_path):
    assert not expected_cache.round_trips({1, 2})  # a set: the codec does not carry it
    assert not expected_cache.identical(np.float64(1.0), 1.0)
    assert not expected_cache.identical((1, 2), [1, 2])
    outputs = expected_cache.ExpectedOutputs("k" * 64, tmp_path)
    assert outputs.get("a", lambda: torch.ones(2)).tolist() == [1.0, 1.0]
    assert outputs.get("b", lambda: {3}) == {3}
    outputs.save()
    assert list(tmp_path.iterdir()) == []
    outputs = expected_cache.ExpectedOutputs("k" * 64, tmp_path)
    outputs.get("a", lambda: torch.ones(2))
    outputs.save()
    again = expected_cache.ExpectedOutputs("k" * 64, tmp_path)
    assert again.get("a", lambda: pytest.fail("computed again")).tolist() == [1.0, 1.0] and again.hits == 1
    shutil.copy(tmp_path / f"{'k' * 64}.grd", tmp_path / f"{'j' * 64}.grd")
    assert expected_cache.ExpectedOutputs("j" * 64, tmp_path).values == {}  # a file of another key reads as nothing


def test_outputs_stored_on_one_processor_are_computed_afresh_on_another(monkeypatch, tmp_path):
    """Float results can differ in their last bits between CPUs (torch and numpy pick kernels by
    the SIMD instructions there are): a cache folder copied or shared across machines must miss."""
    from grader.problems.bank import Bank

    monkeypatch.setenv("GRADER_CACHE_DIR", str(tmp_path / "cache"))
    problem = Bank().get("sigmoid-backward")
    here = expected_cache.cpu_model()
    if sys.platform.startswith("linux"):
        first = Path("/proc/cpuinfo").read_text().split("\n\n")[0]
        names = [line.split(":", 1)[1].strip() for line in first.splitlines() if line.startswith("model name")]
        assert not names or " ".join(names[0].split()) in here
    stored = expected_cache.ExpectedOutputs.for_problem(problem, Bank(), 0)
    stored.get("small", lambda: torch.ones(3))
    stored.save()
    again = expected_cache.ExpectedOutputs.for_problem(problem, Bank(), 0)
    assert again.get("small", lambda: pytest.fail("computed again")).tolist() == [1.0, 1.0, 1.0]
    monkeypatch.setattr(expected_cache, "cpu_model", lambda: "cpu Another Processor 0123456789abcdef")
    elsewhere = expected_cache.ExpectedOutputs.for_problem(problem, Bank(), 0)
    assert elsewhere.key != again.key
    assert elsewhere.get("small", lambda: torch.zeros(3)).tolist() == [0.0, 0.0, 0.0]


def test_the_processor_names_its_model_flags_and_simd_settings(monkeypatch):
    here = expected_cache.cpu_model()
    assert here.startswith("cpu ") and len(here.split()[-1]) == 16
    setting = "avx2" if os.environ.get("ATEN_CPU_CAPABILITY") == "default" else "default"
    monkeypatch.setenv("ATEN_CPU_CAPABILITY", setting)  # torch told to use fewer SIMD instructions: other kernels
    expected_cache.cpu_model.cache_clear()
    try:
        assert expected_cache.cpu_model() != here
    finally:
        monkeypatch.undo()
        expected_cache.cpu_model.cache_clear()
    assert expected_cache.cpu_model() == here


def test_the_cache_stays_bounded(tmp_path):
    for i in range(12):
        (tmp_path / f"{i:02d}.grd").write_bytes(b"x")
        os.utime(tmp_path / f"{i:02d}.grd", ns=(i * 10**9, i * 10**9))
    expected_cache.prune(tmp_path, keep=10)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{i:02d}.grd" for i in range(7, 12)]


@pytest.mark.slow
def test_a_spec_found_valid_once_is_still_checked_after_an_edit(check, bank):
    assert check(CORRECT, bank=bank).exit_code == 0
    spec = bank / "problems" / "activations" / "sigmoid-backward.yaml"
    spec.write_text(spec.read_text().replace("points: 10", "points: ten"))
    result = check(CORRECT, bank=bank)
    assert result.exit_code == 2 and "$.points" in result.stderr, result.stderr


def test_valid_spec_data_is_remembered_and_invalid_data_is_not(monkeypatch, tmp_path):
    from grader.problems.spec import load_schema, schema_errors

    monkeypatch.setenv("GRADER_CACHE_DIR", str(tmp_path / "cache"))
    schema = {"type": "object", "properties": {"points": {"type": "number"}}}
    assert expected_cache.valid_before({"points": 1}, schema) is not True
    assert schema_errors({"points": 1}, schema) == []
    assert expected_cache.valid_before({"points": 1}, schema) is True
    assert schema_errors({"points": "ten"}, schema) and schema_errors({"points": "ten"}, schema)
    assert expected_cache.valid_before({"points": "ten"}, schema) is not True
    assert expected_cache.valid_before({"points": 1}, {**schema, "required": ["x"]}) is not True  # another schema
    assert schema_errors({"points": 1}, {**schema, "required": ["x"]})
    assert load_schema()  # the real schema loads as before
