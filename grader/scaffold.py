"""`grader new`: scaffold a problem spec and its reference stubs.

Kind `function` writes problems/TOPIC/ID.yaml, appends (or creates) the reference function in
reference/TOPIC.py and three mistake stubs in reference/mistakes/TOPIC.py. Kind `numeric` writes
the spec and appends its answer and wrong-answer functions likewise; kind `choice` needs only the
spec (docs/questions.md). The spec is schema-valid at once; `grader validate` passes as soon as the
TODOs are filled in (the stubs raise NotImplementedError until then, which validate reports).
Existing files are appended to, never overwritten; an existing spec or function is an error.
"""
from __future__ import annotations

import re
from pathlib import Path

from .errors import UsageError

ID_RE = re.compile(r"^[a-z0-9][a-z0-9-]*$")


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
    written = []
    if kind == "function":
        written += _append(root / "reference" / f"{module}.py", f'"""Reference implementations: {topic}."""\nimport torch\n',
                           func, REFERENCE_STUB.format(func=func))
        mistakes = "".join(MISTAKE_STUB.format(func=func, n=n) for n in (1, 2, 3))
        written += _append(root / "reference" / "mistakes" / f"{module}.py",
                           f'"""Known wrong implementations: {topic}."""\nimport torch\n', f"{func}_mistake_1", mistakes)
        text = FUNCTION_SPEC.format(id=problem_id, title=title, topic=topic, func=func, module=module)
    elif kind == "numeric":
        written += _append(root / "reference" / f"{module}.py", f'"""Reference answers: {topic}."""\n',
                           f"{func}_answer", NUMERIC_ANSWER_STUB.format(func=func))
        mistakes = "".join(NUMERIC_MISTAKE_STUB.format(func=func, n=n) for n in (1, 2))
        written += _append(root / "reference" / "mistakes" / f"{module}.py",
                           f'"""Known wrong answers: {topic}."""\n', f"{func}_mistake_1", mistakes)
        text = NUMERIC_SPEC.format(id=problem_id, title=title, topic=topic, func=func, module=module)
    elif kind == "choice":
        text = CHOICE_SPEC.format(id=problem_id, title=title, topic=topic)
    elif kind == "steps":
        from .kinds.steps import STEPS_MISTAKES, STEPS_REFERENCE, STEPS_SPEC

        written += _append(root / "reference" / f"{module}.py", f'"""Reference implementations: {topic}."""\nimport numpy as np\n',
                           f"{func}_forward", STEPS_REFERENCE.format(func=func))
        written += _append(root / "reference" / "mistakes" / f"{module}.py",
                           f'"""Known wrong implementations: {topic}."""\nimport numpy as np\n', f"{func}_backward_mistake_1",
                           STEPS_MISTAKES.format(func=func))
        text = STEPS_SPEC.format(id=problem_id, title=title, topic=topic, func=func, module=module)
    else:
        raise UsageError(f"unknown kind '{kind}' (function, numeric, choice or steps)")
    for init in (root / "reference" / "__init__.py", root / "reference" / "mistakes" / "__init__.py"):
        if kind != "choice" and not init.exists():
            init.parent.mkdir(parents=True, exist_ok=True)
            init.write_text('"""Trusted code of the problem bank."""\n', encoding="utf-8")
            written.append(init)
    spec_path.parent.mkdir(parents=True, exist_ok=True)
    spec_path.write_text(text, encoding="utf-8")
    return [spec_path] + written


def _append(path: Path, header: str, name: str, code: str) -> list[Path]:
    if path.exists():
        source = path.read_text(encoding="utf-8")
        if re.search(rf"^def {re.escape(name)}\b", source, re.MULTILINE):
            raise UsageError(f"{path} already defines {name}(); choose another id")
        path.write_text(source.rstrip("\n") + "\n\n" + code, encoding="utf-8")
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(header + "\n" + code, encoding="utf-8")
    return [path]


REFERENCE_STUB = '''
def {func}(x):
    """TODO: the formula, with its source (course notes, paper).

    x: (N,) tensor. Returns a tensor like x.
    """
    raise NotImplementedError("TODO: write the reference {func}")
'''

MISTAKE_STUB = '''
def {func}_mistake_{n}(x):
    """TODO: a wrong version students write (mistake {n})."""
    raise NotImplementedError("TODO: write mistake {n} of {func}")
'''

FUNCTION_SPEC = '''id: {id}
title: {title}
topic: {topic}
points: 10
kind: function
statement: |
  TODO: what `{func}(x)` returns, with the formula. State every convention: shapes, dtype of the
  result, log base, biased or unbiased variance, ties, mask polarity, what is forbidden.
entry_point:
  name: {func}
  signature: {func}(x)
starter: |
  import torch


  def {func}(x):
      """TODO: one line for the student."""
      raise NotImplementedError("implement {func}")
reference: {module}:{func}
sizes: {{N: 8}}
inputs:
  x: {{type: tensor, shape: [N], distribution: normal}}
cases:
  - name: small
    visible: true
    sizes: {{N: 4}}
  - name: random
    visible: true
  - name: matrix
    inputs:
      x: {{shape: [5, N]}}
  - name: large-magnitude
    inputs:
      x: {{scale: 100}}
  - name: edge-values
    inputs:
      x: {{edge: [0.0]}}
  - name: float64
    dtype: float64
hints:
  - "TODO: a hint shown when a submission fails without matching a known mistake."
mistakes:
  - name: mistake-1
    impl: mistakes.{module}:{func}_mistake_1
    feedback: "TODO: what this mistake does wrong and how to fix it."
  - name: mistake-2
    impl: mistakes.{module}:{func}_mistake_2
    feedback: "TODO"
  - name: mistake-3
    impl: mistakes.{module}:{func}_mistake_3
    feedback: "TODO"
'''

NUMERIC_ANSWER_STUB = '''
def {func}_answer(n):
    """TODO: the correct answer, computed from the parameters (called by name)."""
    raise NotImplementedError("TODO: write the answer of {func}")
'''

NUMERIC_MISTAKE_STUB = '''
def {func}_mistake_{n}(n):
    """TODO: a wrong answer students give (mistake {n})."""
    raise NotImplementedError("TODO: write wrong answer {n} of {func}")
'''

NUMERIC_SPEC = '''id: {id}
title: {title}
topic: {topic}
points: 2
kind: numeric
statement: |
  TODO: the setting and its conventions (units, bits or nats, rounding expected).
params:
  n: {{type: int, low: 2, high: 20}}
question: "TODO: the question, using a parameter such as n = {{n}}?"
answer:
  function: {module}:{func}_answer
  tolerance: {{rel: 0.01}}
wrong_answers:
  - name: mistake-1
    function: mistakes.{module}:{func}_mistake_1
    feedback: "TODO: why {{value}} is wrong."
  - name: mistake-2
    function: mistakes.{module}:{func}_mistake_2
    feedback: "TODO"
explanation: "TODO: the worked answer, {{answer}}."
'''

CHOICE_SPEC = '''id: {id}
title: {title}
topic: {topic}
points: 2
kind: choice
statement: |
  TODO: the setting and its conventions.
question: "TODO: the question?"
options:
  - text: "TODO: the correct option"
    correct: true
    feedback: "TODO: why it is right (shown when missed)."
  - text: "TODO: a wrong option built on a real misconception"
    feedback: "TODO: why it is wrong."
  - text: "TODO: another wrong option"
    feedback: "TODO: why it is wrong."
explanation: "TODO: the explanation shown after answering."
'''
