"""`grader show ID --bundle DIR`: a problem as its student bundle describes it (grader.kinds.bundle)."""
from __future__ import annotations

import json

import click

from grader.kinds.bundle import Bundle
from grader.errors import UsageError


def describe_from_bundle(bundle: Bundle, problem_id: str) -> dict:
    """What `grader show --json` gives with the bank, from the bundle: visible cases, hidden ones counted."""
    from grader.kinds.function.kind import strictness
    from grader.authoring.show import summarize

    found = bundle.get(problem_id)
    if found.problem is None:  # a question: the bundle keeps only what `grader show` prints
        return dict(found.entry["show"])
    problem = found.problem
    data = {"id": problem.id, "title": problem.title, "topic": problem.topic, "kind": problem.kind,
            "points": problem.points, "framework": problem.framework, "statement": problem.statement,
            "hints": problem.hints, "seed": bundle.seed, "student": None, "entry_point": problem.entry_point,
            "signature": problem.signature, "forbidden": problem.spec.get("forbidden", []),
            "strictness": strictness(problem)}
    cases = []
    for index, case in enumerate(problem.cases):
        args, _, _ = bundle.case_values(problem_id, index)
        cases.append({"name": case["name"], "visible": True, "weight": case.get("weight", 1),
                      "description": case.get("description", ""),
                      "inputs": {a.name: summarize(a.value) for a in args}})
    data["cases"] = cases
    data["graded_at_submission"] = bundle.hidden_summary(problem_id)
    return data


def render_case_from_bundle(bundle: Bundle, problem_id: str, case_name: str) -> str:
    """Python that rebuilds a visible case's inputs from the bundle and calls the student's function."""
    from grader.problems.inputs import literal_source
    from grader.authoring.show import case_code_header, summarize

    found = bundle.get(problem_id)
    if found.problem is None:  # a question: the bundle keeps only what `grader show` prints
        raise UsageError(f"'{problem_id}' is a {found.kind} question; it has no cases")
    problem = found.problem
    names = [c["name"] for c in problem.cases]
    if case_name not in names:
        raise UsageError(f"no visible case '{case_name}' of '{problem_id}' in the bundle (visible cases: "
                         f"{', '.join(names) or 'none'})", "Hidden cases are graded only by the course.")
    args, _, _ = bundle.case_values(problem_id, names.index(case_name))
    case = problem.cases[names.index(case_name)]
    lines = case_code_header(problem, case_name, case)
    sources = [literal_source(a.value, problem.framework) for a in args]
    if all(s is not None for s in sources):
        lines += [f"{a.name} = {s}" for a, s in zip(args, sources)]
    else:
        lines += ["# The inputs are too big to print; the bundle holds them exactly:",
                  "from grader.cli.bundle import bundle_case_inputs",
                  f"inputs = bundle_case_inputs({str(bundle.root)!r}, {problem.id!r}, {case_name!r})"]
        lines += [f"{a.name} = inputs[{a.name!r}]  # {summarize(a.value)}" for a in args]
    call = ", ".join(f"{a.name}={a.name}" if a.keyword else a.name for a in args)
    lines += ["", f"result = {problem.entry_point}({call})", "print(result)"]
    return "\n".join(lines)


def bundle_case_inputs(where: str, problem_id: str, case_name: str) -> dict:
    """A visible case's inputs by name, read from a bundle (to rerun a case by hand)."""
    bundle = Bundle(where)
    names = [c["name"] for c in bundle.get(problem_id).problem.cases]
    if case_name not in names:
        raise UsageError(f"no visible case '{case_name}' of '{problem_id}' in the bundle")
    args, _, _ = bundle.case_values(problem_id, names.index(case_name))
    return {a.name: a.value for a in args}


def show_from_bundle(where: str, problem_id: str, case_name: str | None, seed: int | None, student: str | None,
                     as_json: bool) -> None:
    from grader.authoring.show import render_problem

    bundle = Bundle(where)
    if student is not None or (seed is not None and seed != bundle.seed):
        raise UsageError(f"the bundle holds the cases for seed {bundle.seed} only",
                         "Leave out --seed and --student: your own variant is graded by the course when you submit.")
    if case_name:
        click.echo(render_case_from_bundle(bundle, problem_id, case_name))
        return
    data = describe_from_bundle(bundle, problem_id)
    if as_json:
        click.echo(json.dumps(data, indent=2))
        return
    text = render_problem(data)
    hidden = data.get("graded_at_submission")
    if hidden and hidden["tests"]:
        text += f"\nHidden tests: {hidden['tests']}, graded by the course when you submit (not in this bundle)."
    click.echo(text)
