"""Problem kinds: one Kind per module, registered here (grader/kinds/base.py says what a Kind is)."""
from __future__ import annotations

from grader.errors import SpecError
from grader.kinds.base import Kind
from grader.kinds.choice import ChoiceKind
from grader.kinds.function import FunctionKind
from grader.kinds.module import ModuleKind
from grader.kinds.numeric import NumericKind
from grader.kinds.steps import StepsKind
from grader.kinds.training import TrainingKind

KINDS: dict[str, Kind] = {kind.name: kind for kind in (FunctionKind(), NumericKind(), ChoiceKind(), ModuleKind(),
                                                           TrainingKind(), StepsKind())}


def kind_of(name: str) -> Kind:
    """The Kind called `name`; a SpecError for a kind this version does not know."""
    try:
        return KINDS[name]
    except KeyError:
        raise SpecError(f"problems of kind '{name}' cannot be graded by this version of grader") from None


def trains_models(problems) -> bool:
    """Whether any of these problems (None entries skipped) trains models with torch optimizers, so
    the fork server's template should be warmed up for them (grader.sandbox.forkserver)."""
    return any(problem is not None and kind_of(problem.kind).trains_models for problem in problems)


def names() -> list[str]:
    return list(KINDS)


def spec_errors(problem) -> list[str]:
    """The rules of the problem's kind that its JSON Schema cannot express."""
    return kind_of(problem.kind).check_spec(problem)
