"""grader new: the scaffold loads at once and validates as soon as its TODOs are filled in."""
from __future__ import annotations

from pathlib import Path

import yaml


def empty_bank(root: Path) -> Path:
    (root / "problems").mkdir(parents=True)
    (root / "reference").mkdir()
    (root / "reference" / "__init__.py").write_text("")
    return root


def fill(path: Path, replacements: dict[str, str]) -> None:
    text = path.read_text()
    for old, new in replacements.items():
        assert old in text, old
        text = text.replace(old, new)
    path.write_text(text)


def test_new_function_problem_validates_once_filled_in(tmp_path, cli):
    bank = empty_bank(tmp_path)
    result = cli("--bank", bank, "new", "triple-it", "--topic", "basics")
    assert result.exit_code == 0, result.output
    spec = bank / "problems" / "basics" / "triple-it.yaml"
    assert spec.exists() and (bank / "reference" / "basics.py").exists()
    assert (bank / "reference" / "mistakes" / "basics.py").exists()
    # unfilled: it loads, but validate fails (exit 1) because the reference is a stub
    unfilled = cli("validate", spec)
    assert unfilled.exit_code == 1 and "TODO: write the reference triple_it" in unfilled.output
    # no mistake was checked (the reference failed first): no rate of 0/0 passed off as 100%
    assert "no known mistakes were checked" in unfilled.output and "0/0" not in unfilled.output
    fill(bank / "reference" / "basics.py", {'raise NotImplementedError("TODO: write the reference triple_it")': "return 3 * x"})
    fill(bank / "reference" / "mistakes" / "basics.py", {
        'raise NotImplementedError("TODO: write mistake 1 of triple_it")': "return 2 * x",
        'raise NotImplementedError("TODO: write mistake 2 of triple_it")': "return 3 * x + 1",
        'raise NotImplementedError("TODO: write mistake 3 of triple_it")': "return x ** 3"})
    result = cli("validate", spec)
    assert result.exit_code == 0, result.output
    assert "3/3" in result.output
    # a second problem in the same topic appends to the same modules
    assert cli("--bank", bank, "new", "halve-it", "--topic", "basics").exit_code == 0
    assert "def triple_it(" in (bank / "reference" / "basics.py").read_text()
    assert "def halve_it(" in (bank / "reference" / "basics.py").read_text()
    again = cli("--bank", bank, "new", "triple-it", "--topic", "other")
    assert again.exit_code == 2 and "already exists" in again.stderr


def test_new_question_kinds_load(tmp_path, cli):
    bank = empty_bank(tmp_path)
    for kind in ("choice", "numeric"):
        result = cli("--bank", bank, "new", f"a-{kind}", "--topic", "quiz", "--kind", kind)
        assert result.exit_code == 0, result.output
        data = yaml.safe_load((bank / "problems" / "quiz" / f"a-{kind}.yaml").read_text())
        assert data["kind"] == kind
    assert cli("validate", bank / "problems" / "quiz" / "a-choice.yaml").exit_code == 0
    assert "def a_numeric_answer(n)" in (bank / "reference" / "quiz.py").read_text()
    fill(bank / "reference" / "quiz.py", {'raise NotImplementedError("TODO: write the answer of a_numeric")': "return 2 * n"})
    assert cli("--bank", bank, "list").exit_code == 0
