"""`grader new --kind module`: a spec, a reference class and three mistake classes to fill in."""
from __future__ import annotations


def class_name(problem_id: str) -> str:
    """'tiny-layer' -> 'TinyLayer'."""
    name = "".join(part.capitalize() for part in problem_id.split("-"))
    return name if name[0].isalpha() else f"P{name}"


def module_files(problem_id: str, topic: str, title: str) -> tuple[str, list[tuple[str, str, str, str]]]:
    """(the spec's text, [(path under the bank, header of a new file, class name, code to append)])."""
    module = topic.replace("-", "_")
    cls = class_name(problem_id)
    files = [(f"reference/{module}.py", f'"""Reference implementations: {topic}."""\nimport torch\nfrom torch import nn\n',
              cls, REFERENCE_CLASS.format(cls=cls))]
    mistakes = "".join(MISTAKE_CLASS.format(cls=cls, n=n, module=module) for n in (1, 2, 3))
    files.append((f"reference/mistakes/{module}.py", f'"""Known wrong implementations: {topic}."""\n'
                  f"from reference.{module} import {cls}\n", f"{cls}Mistake1", mistakes))
    spec = MODULE_SPEC.format(id=problem_id, title=title, topic=topic, cls=cls, module=module)
    return spec, files


REFERENCE_CLASS = '''
class {cls}(nn.Module):
    """TODO: what the module computes, with the formula and its source.

    x: (N, D_in). Returns (N, D_out).
    """

    def __init__(self, in_features, out_features):
        super().__init__()
        self.linear = nn.Linear(in_features, out_features)  # TODO: the parameters students must register

    def forward(self, x):
        raise NotImplementedError("TODO: write the reference {cls}.forward")
'''

MISTAKE_CLASS = '''

class {cls}Mistake{n}({cls}):
    """TODO: a wrong forward students write (mistake {n}); keep the reference's parameters."""

    def forward(self, x):
        raise NotImplementedError("TODO: write mistake {n} of {cls}")
'''

MODULE_SPEC = '''id: {id}
title: {title}
topic: {topic}
points: 10
kind: module
framework: torch
statement: |
  TODO: write `class {cls}(nn.Module)` with `__init__(self, in_features, out_features)`, its
  submodules and parameters by name (the grader sets known weights by name), and what
  `forward(self, x)` returns, with shapes.
entry_point:
  name: {cls}
  signature: "class {cls}(nn.Module): __init__(self, in_features, out_features); forward(self, x)"
starter: |
  import torch
  from torch import nn


  class {cls}(nn.Module):
      def __init__(self, in_features, out_features):
          super().__init__()
          # TODO: register the parameters

      def forward(self, x):
          raise NotImplementedError("implement {cls}.forward")
reference: {module}:{cls}
sizes: {{N: 4, D: 5, M: 3}}
inputs:
  in_features: {{type: int, low: D, high: D}}
  out_features: {{type: int, low: M, high: M}}
  x: {{type: tensor, shape: [N, D], distribution: normal}}
module:
  init: [in_features, out_features]
  parameters: by_name
  mode: eval
  calls:
    - method: forward
      args: [x]
      gradients: [x]
cases:
  - name: small
    visible: true
    sizes: {{N: 2, D: 3, M: 2}}
  - name: random
  - name: float64
    dtype: float64
mistakes:
  - name: mistake-1
    impl: mistakes.{module}:{cls}Mistake1
    feedback: "TODO: what this mistake does wrong and how to fix it."
  - name: mistake-2
    impl: mistakes.{module}:{cls}Mistake2
    feedback: "TODO"
  - name: mistake-3
    impl: mistakes.{module}:{cls}Mistake3
    feedback: "TODO"
'''
