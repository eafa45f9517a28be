"""The golden outputs: what the CLI prints and writes for the examples and the bank, normalised.

Shared by tests/test_golden.py (compares) and tests/golden/record.py (records). Each command
runs as a separate `python -m grader` process from the repository root, like a user would, with
GRADER_NO_CUDA=1 so that a machine with a GPU gives the same output as one without (the CUDA
cases are reported as skipped). Every output is text whose golden copy is byte-identical after
`normalise`, which replaces only what changes from run to run or machine to machine:

* durations: JSON `seconds` (cases, problems, the validation run), a speed test's `median`,
  `reference_seconds`, `ratio` and the student's `runs` (timing stops early once the best run is
  clearly within the limit, which depends on the time, and on whether the reference was timed yet), Gradescope's `execution_time` and GitHub Classroom's
  `duration` and `execution_time`; JUnit `time` attributes; the times, rate and worker count
  (two per core) in the grading summary; the times in speed-test messages ("your code 422 µs
  (best of 10), the reference 435 µs on cpu: 1.0× ..." with the number of runs too), "reference 378 µs, slow solution 683×");
  a training reference's CPU time in validate ("trains in 1.4 s of CPU (budget 60 s)");
  the report's speed plot and speed ratios;
* the summary's "Slowest submissions" section is ordered by time and names each student's
  slowest problem (ties between 0.00 s entries go either way): the problem is masked and the
  lines are sorted by student;
* absolute paths: the repository root and the output folder;
* the sandbox level of the machine (`"sandbox": "full"`, and the warning line a machine with a
  weaker sandbox prints on stderr: a normal user without cgroups gets one, root does not);
* the result cache: a job id and the engine version hash the grader's own source, so any code
  change renames every cache file. Its entries are compared by content, sorted; the file names
  are checked to be `.cache/<id[:2]>/<id>.json` of the entry's own job id.

Scores, statuses, messages, field names, field order, the set of files and exit statuses are
kept exactly.
"""
from __future__ import annotations

import base64
import json
import os
import re
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GOLDEN = ROOT / "tests" / "golden"
ASSIGNMENT = "examples/assignment.yaml"
QUIZ = ("examples/quiz.yaml", "examples/quiz-answers.yaml", "--student", "ada")
VOLATILE = '"<volatile>"'


def examples() -> list[tuple[str, str]]:
    """(problem id, example file) for every examples/<problem>/{correct,buggy}.py."""
    return [(path.parent.name, path.relative_to(ROOT).as_posix())
            for path in sorted(ROOT.glob("examples/*/*.py")) if path.stem in ("correct", "buggy")]


def check_commands() -> dict[str, list[str]]:
    """Golden name -> arguments of `grader`, for every `grader check --json` in the golden set."""
    commands = {f"check/{problem}-{Path(file).stem}": ["check", problem, file, "--json"]
                for problem, file in examples()}
    commands["check/quiz"] = ["check", *QUIZ, "--json"]
    return commands


VALIDATE = ["validate", "--json"]


def run_grader(args: list[str], **env: str) -> tuple[int, str, str]:
    """(exit status, stdout, stderr) of `python -m grader ARGS` run from the repository root."""
    env = dict(os.environ, GRADER_NO_CUDA="1", **env)
    proc = subprocess.run([sys.executable, "-m", "grader", *args], cwd=ROOT, env=env, capture_output=True,
                          timeout=900)
    return proc.returncode, decode(proc.stdout), decode(proc.stderr)


def decode(data: bytes) -> str:
    """Bytes as text, newlines untouched (a stray \\r or bad byte shows in the diff)."""
    return data.decode("utf-8", errors="backslashreplace")


def status_text(args: list[str], code: int, stderr: str) -> str:
    """The exit status and stderr of a command, as one golden file."""
    return f"$ grader {' '.join(args)}\nexit status: {code}\nstderr:\n{stderr}"


# ------------------------------------------------------------------------------------ normalising

TIME = r"\d+(?:\.\d+)? (?:s|ms|µs|\\u00b5s)"  # performance.describe(); \u00b5 is µ escaped by JSON
TIMES = r"(?:×|\\u00d7)"                        # the × sign, raw or escaped


def normalise(text: str, out: Path | None = None) -> str:
    """`text` with the run-dependent parts replaced (see the module's docstring)."""
    if out is not None:
        text = text.replace(str(out), "<out>")
    text = text.replace(str(ROOT), "<root>")
    # JSON durations (a null, for a case that did not run, stays null)
    keys = "seconds|median|reference_seconds|ratio|duration|execution_time"
    text = re.sub(rf'("(?:{keys})":\s*)(?:-?\d[\d.eE+-]*|"\d+\.\d+s")', r"\g<1>" + VOLATILE, text)
    text = re.sub(r'("runs":\s*)\d+', r"\g<1>" + VOLATILE, text)  # the student's; the reference's `reference_runs` stays
    text = re.sub(r'("sandbox": )"\w+"', r"\g<1>" + '"<level>"', text)
    text = re.sub(r"^grader: sandbox protections off on this machine: [^\n]*\n", "", text, flags=re.M)
    # speed tests' messages
    text = re.sub(rf"your code {TIME} \(best of \d+\), the reference {TIME} on (\S+?): \d+\.\d({TIMES})",
                  r"your code <time> (best of <n>), the reference <time> on \1: <ratio>\2", text)
    text = re.sub(rf"reference {TIME}, slow solution \d+({TIMES})", r"reference <time>, slow solution <ratio>\1", text)
    # a training problem's validation: the reference's CPU time (the budget is kept)
    text = re.sub(r"trains in \d+\.\d s of CPU \(budget", "trains in <time> s of CPU (budget", text)
    # JUnit
    text = re.sub(r' time="\d+\.\d+"', ' time="<time>"', text)
    return text


def normalise_summary(text: str, out: Path | None = None) -> str:
    """The grading summary (stdout and summary.txt): its first line's time, rate and workers,
    and the "Slowest submissions" section (see the module's docstring)."""
    text = normalise(text, out)
    text = re.sub(r"problem-submissions in \d+\.\d s \((\d+) graded at \d+\.\d/s on \d+ workers",
                  r"problem-submissions in <time> s (\1 graded at <rate>/s on <workers> workers", text)
    lines = text.split("\n")
    for start, line in enumerate(lines):
        if line.startswith("Slowest submissions"):
            end = start + 1
            while end < len(lines) and lines[end].strip():
                lines[end] = re.sub(r" +\d+\.\d\d s  \(slowest: \S+ \d+\.\d\d s\)$",
                                    " <time> s  (slowest: <problem> <time> s)", lines[end])
                end += 1
            lines[start + 1:end] = sorted(lines[start + 1:end])
    return "\n".join(lines)


def normalise_report(text: str, out: Path | None = None) -> str:
    """report.html: the speed plot's drawing and the speed ratios' values."""
    text = normalise(text, out)
    text = re.sub(r'(<figure class="plot" id="plot-speed">)<svg.*?</svg>', r"\1<svg><!-- timing plot --></svg>",
                  text, flags=re.S)
    return re.sub(r'(data-stat="speed-(?:median|max)-ratio" data-value=")[^"]*("[^>]*>)[^<]*x<',
                  r"\1<ratio>\2<ratio>x<", text)


def normalise_cache(out: Path) -> str:
    """The cache's entries, one normalised entry a line, sorted; the file names are checked here."""
    entries = []
    for path in sorted((out / ".cache").rglob("*.json")):
        text = decode(path.read_bytes())
        job = json.loads(text)["job"]
        assert path.relative_to(out).as_posix() == f".cache/{job[:2]}/{job}.json", path
        text = re.sub(r'("job": )"[0-9a-f]{64}"', r'\1"<job id>"', text)
        text = re.sub(r'("engine": "[^"+]*)\+[0-9a-f]+"', r'\1+<source hash>"', text)
        entries.append(normalise(text, out))
    return "\n".join(sorted(entries)) + "\n"


def written_files(out: Path) -> str:
    """Every file `grader grade` wrote under OUT, one a line (cache files as `.cache/<job id>.json`)."""
    names = []
    for path in out.rglob("*"):
        if path.is_file():
            name = path.relative_to(out).as_posix()
            names.append(".cache/<job id>.json" if name.startswith(".cache/") else name)
    return "\n".join(sorted(names)) + "\n"


# ------------------------------------------------------------------------------------ producing

def produce_checks(workers: int = 2) -> dict[str, str]:
    """Golden name -> text, for every `grader check --json` (stdout and exit status/stderr)."""
    commands = check_commands()
    with ThreadPoolExecutor(workers) as pool:
        results = dict(zip(commands, pool.map(run_grader, commands.values())))
    texts = {}
    for name, args in commands.items():
        code, stdout, stderr = results[name]
        texts[f"{name}.json"] = normalise(stdout)
        texts[f"{name}.status"] = normalise(status_text(args, code, stderr))
    return texts


def produce_grade(out: Path) -> dict[str, str]:
    """Golden name -> text for `grader grade examples/class` into OUT: its exit status, stdout and
    stderr (without the progress lines, which come every 5 s) and every file it writes."""
    args = ["grade", "examples/class", "--assignment", ASSIGNMENT, "--out", str(out)]
    code, stdout, stderr = run_grader(args)
    stderr = "".join(line for line in stderr.splitlines(keepends=True) if not line.startswith("grading: "))
    texts = {
        "grade/command.status": normalise(status_text(["grade", "examples/class", "--assignment", ASSIGNMENT,
                                                       "--out", "<out>"], code, stderr), out),
        "grade/stdout.txt": normalise_summary(stdout, out),
    }
    return texts | produce_outputs(out)


def produce_outputs(out: Path) -> dict[str, str]:
    """Golden name -> text for every file `grader grade` wrote under OUT (grade/files.txt: which)."""
    texts = {"grade/files.txt": written_files(out), "grade/out/cache.jsonl": normalise_cache(out)}
    for path in sorted(out.rglob("*")):
        name = path.relative_to(out).as_posix()
        if not path.is_file() or name.startswith(".cache/"):
            continue
        text = decode(path.read_bytes())
        if name == "summary.txt":
            text = normalise_summary(text, out)
        elif name == "report.html":
            text = normalise_report(text, out)
        else:
            text = normalise(text, out)
        texts[f"grade/out/{name}"] = text
    return texts


def produce_single(tmp: Path) -> dict[str, str]:
    """Golden name -> text for one student graded alone with the Gradescope and GitHub Classroom
    outputs: `grader grade examples/class/bob --single --gradescope F --classroom` with
    $GITHUB_OUTPUT set. The Classroom result is base64 (on stdout and in $GITHUB_OUTPUT): it is
    recorded decoded and indented (the line recorded in github_output.txt says whether it was
    compact ASCII JSON), and the two copies are checked to be the same."""
    out, gradescope, github_output = tmp / "out", tmp / "results.json", tmp / "github_output"
    args = ["grade", "examples/class/bob", "--single", "--assignment", ASSIGNMENT, "--out", str(out),
            "--gradescope", str(gradescope), "--classroom", "--no-progress"]
    code, stdout, stderr = run_grader(args, GITHUB_OUTPUT=str(github_output))
    encoded, _, rest = stdout.partition("\n")  # the summary goes to stderr
    outputs = decode(github_output.read_bytes()) if github_output.is_file() else ""
    try:
        raw = base64.b64decode(encoded, validate=True).decode("utf-8")
        result = json.loads(raw)
        classroom = json.dumps(result, indent=2) + "\n"
        compact = raw == json.dumps(result, separators=(",", ":"))
    except ValueError as exc:
        classroom, compact = f"stdout's first line is not base64 of JSON ({exc}): {encoded[:200]!r}\n", False
    texts = {
        "single/command.status": status_text(["grade", "examples/class/bob", "--single", "--assignment", ASSIGNMENT,
                                              "--out", "<out>", "--gradescope", "<gradescope>", "--classroom",
                                              "--no-progress"], code,
                                             normalise_summary(stderr.replace(str(gradescope), "<gradescope>"), out)),
        "single/stdout.txt": "<base64 of classroom.json>\n" + normalise(rest, out),
        "single/classroom.json": normalise(classroom),
        "single/github_output.txt": f"result=<base64 of classroom.json>\nthe same as on stdout: "
                                    f"{f'result={encoded}' + chr(10) == outputs}\ncompact ASCII JSON: {compact}\n",
        "single/gradescope-results.json": normalise(decode(gradescope.read_bytes())) if gradescope.is_file() else "",
    }
    return texts | {name.replace("grade/", "single/", 1): text for name, text in produce_outputs(out).items()}


def produce_validate() -> dict[str, str]:
    """Golden name -> text for `grader validate --json` over the whole bank."""
    code, stdout, stderr = run_grader(VALIDATE)
    return {"validate/bank.json": normalise(stdout), "validate/bank.status": normalise(status_text(VALIDATE, code, stderr))}


def read_golden(name: str) -> str | None:
    path = GOLDEN / name
    if not path.is_file():
        return None
    with open(path, encoding="utf-8", newline="") as f:
        return f.read()


def write_golden(name: str, text: str) -> None:
    path = GOLDEN / name
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", encoding="utf-8", newline="") as f:
        f.write(text)
