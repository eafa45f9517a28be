"""The spec rules of kind `function` that its JSON Schema cannot express (run when a spec loads)."""
from __future__ import annotations

from grader import expressions
from grader.compare import comparators
from grader.kinds.function import gradcheck
from grader.problems.spec import load_schema, schema_errors


def check_function_spec(data: dict) -> list[str]:
    """Consistency rules the schema cannot express for kind `function`."""
    problems = []
    inputs = data.get("inputs", {})
    input_schema = {"$ref": "#/$defs/input", "$defs": load_schema()["$defs"]}
    for i, case in enumerate(data.get("cases", [])):
        for name, override in case.get("inputs", {}).items():
            if isinstance(override, dict) and name in inputs:
                merged = {**inputs[name], **override}
                for line in schema_errors(merged, input_schema):
                    problems.append(f"$.cases[{i}].inputs.{name}{line[1:]}")
    sizes = set(data.get("sizes", {}))
    seen = set()
    for i, case in enumerate(data.get("cases", [])):
        where = f"$.cases[{i}]"
        if case["name"] in seen:
            problems.append(f"{where}.name: case name '{case['name']}' is used twice")
        seen.add(case["name"])
        for name in case.get("inputs", {}):
            if name not in inputs:
                problems.append(f"{where}.inputs.{name}: no input named '{name}' (inputs: {', '.join(inputs)})")
        case_sizes = sizes | set(case.get("sizes", {}))
        for name, spec in inputs.items():
            override = case.get("inputs", {}).get(name)
            shape = override.get("shape", spec.get("shape", [])) if isinstance(override, dict) else spec.get("shape", [])
            literal = override is not None and not isinstance(override, dict)
            if literal or (isinstance(override, dict) and "value" in override) or "value" in spec:
                continue
            for dim in shape or []:
                if isinstance(dim, str) and dim not in case_sizes:
                    problems.append(f"{where}: input '{name}' has shape dimension '{dim}' but no size '{dim}' "
                                    f"is set in $.sizes or in the case's sizes")
    for name, spec in inputs.items():
        if spec["type"] == "tensor" and "shape" not in spec and "value" not in spec:
            problems.append(f"$.inputs.{name}: a tensor input needs a 'shape' (or a fixed 'value')")
    for i, assumption in enumerate(data.get("assumptions", [])):
        try:
            expressions.parse(assumption["check"])
        except SyntaxError as exc:
            problems.append(f"$.assumptions[{i}].check: not a valid check: {exc.msg}")
        except ValueError as exc:
            problems.append(f"$.assumptions[{i}].check: not a valid check: {exc}")
    names = [m["name"] for m in data.get("mistakes", [])]
    for dup in {n for n in names if names.count(n) > 1}:
        problems.append(f"$.mistakes: mistake name '{dup}' is used twice")
    return problems


def function_spec_errors(problem) -> list[str]:
    """Every rule: inputs and cases, then the comparator's and the gradient check's fields."""
    return check_function_spec(problem.spec) or (comparators.spec_problems(problem) + gradcheck.spec_problems(problem))
