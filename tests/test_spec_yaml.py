"""The spec reader: libyaml's parser where PyYAML has it, with SpecLoader's values and messages."""
import math
from pathlib import Path

import pytest
import yaml

from grader.errors import SpecError
from grader.problems import spec

ROOT = Path(__file__).resolve().parent.parent
FILES = sorted(p for folder in ("problems", "examples", "tests") for p in (ROOT / folder).rglob("*.yaml"))


def same(a, b) -> bool:
    if isinstance(a, float) and isinstance(b, float):
        return (math.isnan(a) and math.isnan(b)) or a == b
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return a == b


def test_every_yaml_file_reads_as_the_pure_python_loader_reads_it():
    assert len(FILES) > 90
    for path in FILES:
        text = path.read_text(encoding="utf-8")
        try:
            slow = yaml.load(text, Loader=spec.SpecLoader)
        except yaml.YAMLError:
            with pytest.raises(SpecError):
                spec.read_yaml(path)
            continue
        assert same(spec.read_yaml(path), slow), path


def test_yaml_12_floats(tmp_path):
    path = tmp_path / "x.yaml"
    path.write_text("a: 1e-3\nb: 1.0e6\nc: .5\nd: -.inf\ne: '1e3'\nf: 7\n")
    assert spec.read_yaml(path) == {"a": 0.001, "b": 1e6, "c": 0.5, "d": -math.inf, "e": "1e3", "f": 7}


def test_libyaml_is_used_where_pyyaml_has_it():
    if not getattr(yaml, "__with_libyaml__", False):
        pytest.skip("PyYAML was built without libyaml here: the pure-Python loader is the only one")
    assert issubclass(spec.FastSpecLoader, yaml.CSafeLoader)


def test_a_syntax_error_keeps_the_detailed_message(tmp_path):
    path = tmp_path / "bad.yaml"
    path.write_text("id: x\nlist: [1, 2\nnext: 3\n")
    with pytest.raises(SpecError) as raised:
        spec.read_yaml(path)
    assert "line 3, column 5" in str(raised.value)
    assert "expected ',' or ']', but got ':'" in str(raised.value)  # PyYAML's wording, not libyaml's
