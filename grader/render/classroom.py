"""GitHub Classroom: the runner result that `autograding-grading-reporter` reads.

The reporter reads, for each runner id R, the environment variable `R_RESULTS`: base64 of a
JSON object `{version: 1, status: pass|fail|error, max_score, tests: [...]}`, each test
`{name, status, score, message, test_code, filename, line_no, duration}` as GitHub's own
`autograding-command-grader` writes them (`duration` in milliseconds; `line_no` 0 means "no
line", anything else is printed as `name - line N`). It adds up the tests' `score` with
JavaScript numbers, left to right, and records `Points <sum>/<max_score>` for the classroom.

So that the points are exactly the gradebook's total (not 60.00000300000004), the scores are
shared out in integer micro-points (largest remainders first), then checked with the same float
additions the reporter does; where float noise is left, one score moves by a few units in the last place. The whole result stays under `MAX_ENCODED` base64
characters: one environment string may hold at most 128 KiB on Linux (`Argument list too long`
past it), so long messages are cut first (saying so), then a problem's cases are merged into one test.
"""
from __future__ import annotations

import base64
import json
import math
import struct

from grader.render.gradebook import number, strict_json
from grader.render.safe import first_line, one_line, printable, with_reason

MAX_ENCODED = 64 * 1024                       #: base64 characters of one result, at most
MESSAGE_LIMITS = (4000, 1000, 200, 0)         #: characters kept of each message, tried in turn
_RANK = {"pass": 0, "fail": 1, "error": 2}


def _finite(x, default: float = 0.0) -> float:
    try:
        x = float(x)
    except (TypeError, ValueError):
        return default
    return x if math.isfinite(x) else default


def reporter_sum(scores: list[float]) -> float:
    """What the reporter computes: 0, then each score added in order (IEEE doubles, like JS)."""
    total = 0.0
    for score in scores:
        total += score
    return total


def exact_scores(values: list[float], total: float) -> list[float]:
    """Scores within a micro-point of `values` whose `reporter_sum` is exactly `total`."""
    if not values:
        return []
    exact = [max(0.0, _finite(v)) * 1_000_000 for v in values]
    micro = [math.floor(x) for x in exact]
    # Largest remainders first: the micro-points the floors left out go to the tests that lost most.
    missing = round(total * 1_000_000) - sum(micro)
    if 0 < missing <= len(micro):
        for i in sorted(range(len(micro)), key=lambda i: exact[i] - micro[i], reverse=True)[:missing]:
            micro[i] += 1
        missing = 0
    # A total that is not the tests' sum (float noise, or a total the tests do not explain):
    # the largest tests absorb the difference, never going below zero.
    for i in sorted(range(len(micro)), key=lambda i: -micro[i]):
        if not missing:
            break
        change = max(missing, -micro[i])
        micro[i] += change
        missing -= change
    scores = [m / 1_000_000 for m in micro]
    if reporter_sum(scores) == total:
        return scores
    # Float noise left: nudge one score with points to the double that makes the sum land on
    # `total` (a score as large as the total may not reach every double near it: try the next).
    for index in sorted(range(len(scores)), key=lambda i: (scores[i] <= 0, -i)):
        if scores[index] > 0 and _land(scores, index, total):
            break
    return scores


def _land(scores: list[float], index: int, total: float) -> bool:
    """Set scores[index] to the double near it whose `reporter_sum` is `total`, if there is one.
    The sum only grows with that score, so bisect over the doubles around it (>= 0 doubles are
    ordered like their bit patterns)."""
    wanted = scores[index]
    lo, hi = _bits(max(0.0, wanted - 1e-3)), _bits(wanted + 1e-3)
    while lo < hi:
        mid = (lo + hi) // 2
        scores[index] = _double(mid)
        if reporter_sum(scores) < total:
            lo = mid + 1
        else:
            hi = mid
    scores[index] = _double(lo)
    if reporter_sum(scores) == total:
        return True
    scores[index] = wanted
    return False


def _bits(x: float) -> int:
    return struct.unpack("<q", struct.pack("<d", x))[0]


def _double(bits: int) -> float:
    return struct.unpack("<d", struct.pack("<q", bits))[0]


def _test(name: str, status: str, message: str, filename: str, seconds) -> dict:
    return {"name": one_line(name), "status": status, "score": 0.0, "message": printable(message),
            "test_code": "", "filename": one_line(filename), "line_no": 0,
            "duration": int(round(_finite(seconds) * 1000)), "execution_time": f"{_finite(seconds):.3f}s"}


def _rows(student) -> list[tuple[dict, float, str]]:
    """(test without its final score, wanted score, problem id) per problem x case."""
    rows = []
    for problem in student.problems:
        for test in problem.tests:
            status = "error" if problem.grader_error else ("pass" if test.passed else "fail")
            message = test.output or ("passed" if test.passed else test.outcome or "failed")
            if not test.passed:
                message = with_reason(message, problem.error)
            rows.append((_test(f"{problem.problem}: {test.name}", status, message, problem.submission or "",
                               test.seconds), _finite(test.score), problem.problem))
    return rows


def _cut(message: str, limit: int) -> str:
    if len(message) <= limit:
        return message
    return message[:limit] + f"\n[... {len(message) - limit} more characters; see the grader's log]"


def _merged(rows: list[tuple[dict, float, str]]) -> list[tuple[dict, float, str]]:
    """One test per problem: the worst status, summed score and time, the first failure's first line."""
    merged: dict[str, tuple[dict, float, str, int]] = {}
    for test, score, problem in rows:
        if problem not in merged:
            merged[problem] = (dict(test, name=problem, message="", duration=0), 0.0, problem, 0)
        into, total, _, count = merged[problem]
        if _RANK[test["status"]] > _RANK[into["status"]]:
            into["status"] = test["status"]
        if test["status"] != "pass" and not into["message"]:
            into["message"] = first_line(test["message"])
        into["duration"] += test["duration"]
        merged[problem] = (into, total + score, problem, count + 1)
    out = []
    for into, total, problem, count in merged.values():
        into["name"] = f"{problem} ({count} cases)"
        into["message"] = into["message"] or "passed"
        into["execution_time"] = f"{into['duration'] / 1000:.3f}s"
        out.append((into, total, problem))
    return out


def _assemble(rows, limit: int, total: float, max_score: float, status: str) -> dict:
    scores = exact_scores([score for _, score, _ in rows], total)
    tests = [dict(test, score=score, message=_cut(test["message"], limit)) for (test, _, _), score in zip(rows, scores)]
    return {"version": 1, "status": status, "max_score": max_score, "tests": tests}


def runner_result(student) -> dict:
    """The runner result for one student; its test scores add up exactly to the gradebook total."""
    rows = _rows(student)
    total = _finite(number(_finite(student.score)))
    max_score = _finite(number(_finite(student.max_score)))
    if student.grader_error:
        status = "error"
    else:
        status = "pass" if rows and all(test["status"] == "pass" for test, _, _ in rows) else "fail"
    if not rows:
        return error_result("no tests were run", max_score) if student.grader_error else \
            {"version": 1, "status": status, "max_score": max_score,
             "tests": [dict(_test("grader", "fail", "no tests were run", "", 0), score=total)]}
    result = None
    for candidate in (rows, _merged(rows)):
        for limit in MESSAGE_LIMITS:
            result = _assemble(candidate, limit, total, max_score, status)
            if len(encode(result)) <= MAX_ENCODED:
                return result
    # Thousands of problems: one test for the whole submission.
    first = rows[0][0]
    whole = [(dict(first, name="all problems", status=max((t["status"] for t, _, _ in rows), key=_RANK.get),
                   message=first_line(result["tests"][0]["message"])), total, "")]
    return _assemble(whole, 200, total, max_score, status)


def error_result(message: str, max_score: float = 0.0) -> dict:
    """A valid result when the grader itself failed: status `error`, no points, and why."""
    text = _cut(printable(f"The grader failed (not your fault; tell course staff): {message}"), MESSAGE_LIMITS[1])
    return {"version": 1, "status": "error", "max_score": _finite(max_score),
            "tests": [dict(_test("grader", "error", text, "", 0), score=0.0)]}


def encode(result: dict) -> str:
    """What goes in the step output `result` (and from there in R_RESULTS)."""
    return base64.b64encode(strict_json(result, separators=(",", ":")).encode("utf-8")).decode("ascii")


def decode(encoded: str) -> dict:
    """The result back from its base64 form (as the reporter reads it)."""
    return json.loads(base64.b64decode(encoded))
