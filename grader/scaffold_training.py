"""`grader new --kind training`: the spec, data function, reference trainer and mistake stubs of
a training problem (grader/kinds/training.py). The stubs raise NotImplementedError until filled in."""
from __future__ import annotations

from pathlib import Path


def scaffold_training(root: Path, problem_id: str, topic: str, title: str, module: str, func: str) -> tuple[str, list[Path]]:
    """(the spec's text, the reference files written or appended to)."""
    from grader.scaffold import _append

    written = _append(root / "reference" / f"{module}.py",
                      f'"""Reference implementations: {topic}."""\nimport numpy as np\nimport torch\n',
                      f"{func}_data", REFERENCE.format(func=func))
    mistakes = "".join(MISTAKE.format(func=func, n=n) for n in (1, 2, 3))
    written += _append(root / "reference" / "mistakes" / f"{module}.py",
                       f'"""Known wrong implementations: {topic}."""\nimport torch\n', f"{func}_mistake_1", mistakes)
    return SPEC.format(id=problem_id, title=title, topic=topic, func=func, module=module), written


REFERENCE = '''
def {func}_data(seed, n=300, heldout=200):
    """TODO: make the data from the seed (np.random.default_rng(seed)). Returns the training
    inputs (passed to train_model by name, in this order), the held-out inputs the model
    predicts, and their labels (kept by the grader, never sent to the student's code)."""
    rng = np.random.default_rng(seed)
    raise NotImplementedError("TODO: return {{'inputs': {{'X': X, 'y': y}}, 'heldout': X_test, 'labels': y_test}}")


def {func}(X, y):
    """TODO: a plain, correct solution: build a model, train it on X and y, return it."""
    raise NotImplementedError("TODO: write the reference trainer {func}")
'''

MISTAKE = '''
def {func}_mistake_{n}(X, y):
    """TODO: a wrong training function students write (mistake {n}), e.g. a linear model."""
    raise NotImplementedError("TODO: write mistake {n} of {func}")
'''

SPEC = '''id: {id}
title: {title}
topic: {topic}
points: 10
kind: training
framework: torch
statement: |
  TODO: what `train_model(X, y)` receives (shapes, dtypes, classes), what the returned model
  must map (e.g. (m, 2) float32 points to (m, 2) logits), the metric and its thresholds, and
  the CPU budget.
entry_point:
  name: train_model
  signature: train_model(X, y) -> nn.Module
starter: |
  import torch
  from torch import nn


  def train_model(X, y):
      """TODO: the docstring students see."""
      raise NotImplementedError("build a model, train it on X and y, return it")
reference: {module}:{func}
data: {module}:{func}_data
metric: {{name: accuracy, classes: 2, full: 0.9, zero: 0.6}}
budget: {{cpu: 60}}
cases:
  - name: visible
    visible: true
    data: {{n: 300, heldout: 200}}
  - name: hidden
    data: {{n: 400, heldout: 200}}
mistakes:
  - name: mistake-1
    impl: mistakes.{module}:{func}_mistake_1
    detect: {{affine: true}}
    feedback: "TODO: e.g. your model's outputs are linear in the input; a linear model cannot fit this data."
  - name: mistake-2
    impl: mistakes.{module}:{func}_mistake_2
    detect: {{metric: [0.0, 0.6]}}
    feedback: "TODO: what the student did wrong, and what to do instead."
  - name: mistake-3
    impl: mistakes.{module}:{func}_mistake_3
    detect: {{shape: [m]}}
    feedback: "TODO: e.g. your model returns labels (m,), not (m, 2) logits."
'''
