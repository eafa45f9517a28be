"""What `grader show` tells a student about a problem, as data and as text."""
from __future__ import annotations

from grader.kinds import kind_of
from grader.problems.bank import Bank
from grader.problems.inputs import case_arguments, literal_source, summarize, summarize_input
from grader.problems.spec import Problem


def describe_problem(problem: Problem, seed: int, student: str | None, bank: Bank) -> dict:
    """Everything a student may see: statement, signature, visible cases (never expected outputs)."""
    data = {"id": problem.id, "title": problem.title, "topic": problem.topic, "kind": problem.kind,
            "points": problem.points, "framework": problem.framework, "statement": problem.statement,
            "hints": problem.hints, "seed": seed, "student": student}
    extra = kind_of(problem.kind).describe(problem, seed, student, bank)
    if extra:
        data.update(extra)
        return data
    data["entry_point"] = problem.entry_point
    data["signature"] = problem.signature
    data["forbidden"] = problem.spec.get("forbidden", [])
    from grader.kinds.function.kind import strictness

    data["strictness"] = strictness(problem)
    cases = []
    for case in problem.cases:
        entry = {"name": case["name"], "visible": bool(case.get("visible", False)),
                 "weight": case.get("weight", 1), "description": case.get("description", "")}
        if entry["visible"]:
            entry["inputs"] = {a.name: a.value for a in case_arguments(problem, case, seed, make=summarize_input)}
        if case.get("performance"):
            entry["max_ratio"] = case["performance"]["max_ratio"]  # a speed test: students are told the limit
        cases.append(entry)
    data["cases"] = cases
    return data


def render_problem(data: dict) -> str:
    lines = [f"{data['id']}: {data['title']}  ({data['topic']}, {data['points']:g} points, {data['kind']})", ""]
    lines += [data["statement"].rstrip(), ""]
    if data.get("question"):
        lines += [data["question"].rstrip(), ""]
    for i, option in enumerate(data.get("options", [])):
        lines.append(f"  {option['label']}) {option['text']}")
    if data.get("how_to_answer"):  # numeric and choice questions
        lines += ([""] if data.get("options") else []) + [f"({data['answer_format']})", data["how_to_answer"]]
    if data.get("signature"):
        lines.append(f"Implement: {data['signature']}")
        if data.get("forbidden"):
            lines.append(f"Not allowed: {', '.join(data['forbidden'])}")
        lines += data.get("module", [])  # kind module: the class's contract and the calls compared
        if data.get("strictness"):
            lines += ["How answers are checked:"] + [f"  {line}" for line in describe_strictness(data["strictness"])]
    if data.get("training"):  # kind training: the data, metric and budget (grader/kinds/training.py)
        lines += [""] + data["training"]
    if data.get("procedure"):  # kind steps: the calls each case makes
        lines += ["Each case calls, in order:"] + [f"  {line}" for line in data["procedure"]]
    cases = data.get("cases", [])
    if cases:
        hidden = [c for c in cases if not c["visible"]]
        lines += ["", "Visible cases:"]
        for case in (c for c in cases if c["visible"]):
            desc = f" - {case['description']}" if case["description"] else ""
            lines.append(f"  {case['name']}{desc}")
            for name, summary in case.get("inputs", {}).items():
                lines.append(f"      {name}: {summary}")
        if hidden:
            lines.append(f"Hidden cases: {len(hidden)} ({', '.join(c['name'] for c in hidden)})")
        for case in (c for c in cases if c.get("max_ratio")):
            lines.append(f"Speed test: on case '{case['name']}' your code must take at most {case['max_ratio']:g}x "
                         "the reference's time, on the same device (test '" + case["name"] + " (speed)')")
        lines.append(f"\nRebuild a case: grader show {data['id']} --case NAME")
    return "\n".join(lines)


NUMBER_RULES = {
    "python": "a number must be a Python int or float (use float(...) or .item())",
    "numpy": "a number may be a Python int/float, a NumPy scalar or a 0-d array (not a tensor); "
             "an int must be an integer type",
    "any": "a number may be a Python int/float, a NumPy scalar, a 0-d array or a 0-d tensor; "
           "an int must be an integer type",
}
DTYPE_RULES = {
    "ignore": "a float array of another dtype is compared at the coarser of the two precisions; the dtype is not graded",
    "test": "a float array of another dtype is compared at the coarser of the two precisions; "
            "keeping the expected dtype is its own test, 'keeps dtype'",
    "strict": "a float array must have exactly the expected dtype, or the case fails",
}


def describe_strictness(policy: dict) -> list[str]:
    """The problem's strictness policy in words (grader.kinds.function.kind.strictness)."""
    lines = [NUMBER_RULES[policy["numbers"]], DTYPE_RULES[policy["dtype"]]]
    if policy.get("whole_floats"):
        lines.append("where ints are expected, floats holding whole numbers count as those ints (2.0 is 2; 2.5 is wrong)")
    if policy.get("pure"):
        lines.append("the function must not change its inputs in place: test 'leaves inputs unchanged'")
    return lines


def case_code_header(problem: Problem, case_name: str, case: dict) -> list[str]:
    """The first lines of a function case's code: what it is, and the imports (the student's
    function from the file `grader start` writes)."""
    return [f"# Case '{case_name}' of {problem.id}" + (f" ({case['description']})" if case.get("description") else ""),
            "import torch" if problem.framework == "torch" else "import numpy as np",
            problem.import_line(problem.entry_point), ""]


def render_case_code(problem: Problem, case_name: str, seed: int, student: str | None,
                     bank: Bank | None = None) -> str:
    """Python that rebuilds a case's inputs and calls the student's function on them."""
    kind = kind_of(problem.kind)
    code = kind.case_code(problem, case_name, seed, student, bank or Bank(problem.bank_root))
    if code is not None:
        return code
    case = kind.case_named(problem, case_name)
    args = case_arguments(problem, case, seed)
    who = f", student={student!r}" if student else (f", seed={seed}" if seed else "")
    lines = case_code_header(problem, case_name, case)
    exact = []
    for arg in args:
        source = literal_source(arg.value, problem.framework)
        if source is None:
            exact = []
            break
        exact.append(f"{arg.name} = {source}")
    if exact and len(args) == len(exact):
        lines += exact
    else:
        lines += ["# The inputs are too big to print; the grader rebuilds them exactly:",
                  "from grader import case_inputs",
                  f"inputs = case_inputs({problem.id!r}, {case_name!r}{_seed_arg(seed)})"]
        lines += [f"{a.name} = inputs[{a.name!r}]  # {summarize(a.value)}" for a in args]
    return "\n".join(lines + kind.case_call_lines(problem, args))


def _seed_arg(seed: int) -> str:
    return f", seed={seed}" if seed else ""
