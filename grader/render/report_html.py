"""The class report: one self-contained HTML page, a pure function of the class's results.

`render_report(data)` reads a `ClassData` (what grades.csv and students/*.json hold, plus the
near-copies found in the submissions) and returns the page: score distribution, per-problem
figures, a problem x case heatmap of failure rates, the named mistakes with who made them, limits
hit, speed ratios, near-copies side by side, and one anchored section per student. Plots are
matplotlib figures inlined as SVG (viridis/cividis, distinguishable in greyscale); there is no
JavaScript and nothing is fetched. Every number a reader might check carries `data-stat` and
`data-value` attributes (tests/test_report.py reads them back). Every string that came from a
student (ids, messages, code) goes through html.escape.
"""
from __future__ import annotations

import html
import io
import re
from dataclasses import dataclass, field

from grader.render.gradebook import number
from grader.render.safe import printable

MESSAGE_CHARS = 600        #: a test's message is cut here in the student sections
INSTALL_HINT = "Install matplotlib to draw the report's plots: pip install 'grader[report]' (or pip install matplotlib)."


@dataclass
class ClassData:
    """What the report is drawn from."""

    title: str
    problems: list[str]                 #: problem ids in assignment order (the gradebook's columns)
    gradebook: list[dict[str, str]]     #: grades.csv rows
    students: list[dict]                #: per-student JSON records, in gradebook order
    near_copies: list | None = None     #: similarity.NearCopy pairs; None when no submissions were given
    sources: dict[str, dict[str, str]] = field(default_factory=dict)  #: student -> file -> source
    threshold: float = 0.8


def esc(value) -> str:
    """HTML text of a value: control characters and the like escaped visibly (grader.render.safe),
    then HTML's own special characters."""
    return html.escape(printable(str(value)), quote=True)


def anchor(student: str) -> str:
    """A stable, linkable element id for a student (any characters made safe)."""
    return "student-" + re.sub(r"[^A-Za-z0-9_.-]", lambda m: f"_{ord(m.group()):x}_", student)


def value(x: float) -> str:
    return repr(round(float(x), 6))


def stat(name: str, x: float, shown: str | None = None, **where: str) -> str:
    """A number as a span a test can find: data-stat, data-value and what it is about."""
    attrs = "".join(f' data-{k}="{esc(v)}"' for k, v in where.items())
    return f'<span data-stat="{name}" data-value="{value(x)}"{attrs}>{esc(shown if shown is not None else number(x))}</span>'


def mistake_feedback(output: str, mistake: str) -> str | None:
    """The mistake's feedback text, as kinds/function.py words it in a test's output."""
    marker = f"This matches a known mistake ({mistake}): "
    at = output.find(marker)
    return output[at + len(marker):].split("\n", 1)[0] if at >= 0 else None


def median(xs: list[float]) -> float:
    s = sorted(xs)
    n = len(s)
    return 0.0 if not n else s[n // 2] if n % 2 else (s[n // 2 - 1] + s[n // 2]) / 2


# ---------------------------------------------------------------- the numbers

@dataclass
class ProblemStats:
    id: str
    max_score: float = 0.0
    scores: list[float] = field(default_factory=list)
    full_marks: int = 0
    did_not_run: int = 0
    grader_errors: int = 0
    cases: dict[str, list[int]] = field(default_factory=dict)   #: case -> [failed, total]
    mistakes: dict[str, list[str]] = field(default_factory=dict)  #: mistake -> students
    feedback: dict[str, str] = field(default_factory=dict)       #: mistake -> its feedback text
    ratios: list[tuple[str, str, float, float]] = field(default_factory=list)  #: (student, case, ratio, max_ratio)

    @property
    def mean(self) -> float:
        return sum(self.scores) / len(self.scores) if self.scores else 0.0


def problem_stats(data: ClassData) -> list[ProblemStats]:
    stats = {pid: ProblemStats(pid) for pid in data.problems}
    for record in data.students:
        student = str(record.get("student", ""))
        for problem in record.get("problems", []):
            ps = stats.get(problem.get("problem"))
            if ps is None:
                continue
            ps.max_score = float(problem.get("max_score", 0.0))
            ps.scores.append(float(problem.get("score", 0.0)))
            ps.full_marks += problem.get("status") == "passed"
            if problem.get("grader_error"):
                ps.grader_errors += 1
            elif problem.get("error"):
                ps.did_not_run += 1
            made = set()
            for test in problem.get("tests", []):
                name = str(test.get("name", ""))
                counts = ps.cases.setdefault(name, [0, 0])
                counts[0] += test.get("status") != "passed"
                counts[1] += 1
                mistake = test.get("mistake")
                if mistake:
                    made.add(str(mistake))
                    feedback = mistake_feedback(str(test.get("output", "")), str(mistake))
                    if feedback:
                        ps.feedback.setdefault(str(mistake), feedback)
                timing = test.get("timing")
                if isinstance(timing, dict) and isinstance(timing.get("ratio"), (int, float)):
                    ps.ratios.append((student, name, float(timing["ratio"]), float(timing.get("max_ratio") or 0)))
            for mistake in sorted(made):
                ps.mistakes.setdefault(mistake, []).append(student)
    return [stats[pid] for pid in data.problems]


def totals(data: ClassData) -> list[float]:
    return [float(row["total"]) for row in data.gradebook]


def max_total(data: ClassData) -> float:
    return max((float(r.get("max_score", 0.0)) for r in data.students), default=0.0)


# ---------------------------------------------------------------- the plots

def plain(label: str) -> str:
    """A label matplotlib draws as it is: `$` would start mathtext (the SVG writer escapes XML itself)."""
    return label.replace("$", r"\$")


class Plots:
    """matplotlib figures as inline SVG. matplotlib is imported on first use, once."""

    def __init__(self):
        import matplotlib
        from matplotlib.figure import Figure

        self.matplotlib = matplotlib
        self.Figure = Figure

    def svg(self, fig, name: str) -> str:
        buf = io.StringIO()
        with self.matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": name}):
            fig.savefig(buf, format="svg", metadata=dict.fromkeys(("Date", "Creator", "Format", "Type")))
        text = buf.getvalue()
        return f'<figure class="plot" id="plot-{name}">{text[text.index("<svg"):]}</figure>'

    @staticmethod
    def margins(fig, labels=(), left: float = 0.6, right: float = 0.2, bottom: float = 0.55, top: float = 0.15):
        """Fixed margins in inches, the left one wide enough for the longest y label (cheaper than
        a layout engine, which draws every figure twice)."""
        width, height = fig.get_size_inches()
        left += 0.075 * max((len(label) for label in labels), default=0)
        fig.subplots_adjust(left=min(left / width, 0.6), right=1 - right / width,
                            bottom=min(bottom / height, 0.6), top=1 - top / height)

    def histogram(self, percents: list[float]) -> str:
        fig = self.Figure(figsize=(6.4, 2.8))
        ax = fig.subplots()
        ax.hist(percents, bins=[10 * i for i in range(11)], color=self.matplotlib.colormaps["viridis"](0.3),
                edgecolor="black", hatch="//")
        if percents:
            mean, mid = sum(percents) / len(percents), median(percents)
            ax.axvline(mean, color="black", linestyle="--", label=f"mean {mean:.1f}%")
            ax.axvline(mid, color="black", linestyle=":", linewidth=2, label=f"median {mid:.1f}%")
            ax.legend(loc="upper left", frameon=False)
        ax.set_xlim(0, 100)
        ax.set_xlabel("total score (% of the maximum)")
        ax.set_ylabel("students")
        ax.yaxis.get_major_locator().set_params(integer=True)
        self.margins(fig)
        return self.svg(fig, "scores")

    def heatmap(self, stats: list[ProblemStats]) -> str:
        import numpy as np

        width = max((len(p.cases) for p in stats), default=1) or 1
        grid = np.full((len(stats), width), np.nan)
        for row, p in enumerate(stats):
            for col, (failed, total) in enumerate(p.cases.values()):
                grid[row, col] = failed / total if total else np.nan
        labels = [p.id for p in stats]
        fig = self.Figure(figsize=(min(2.5 + 0.075 * max(map(len, labels), default=0) + 0.45 * width, 16),
                                   0.9 + 0.45 * len(stats)))
        ax = fig.subplots()
        self.margins(fig, labels, right=1.3)
        image = ax.imshow(np.ma.masked_invalid(grid), cmap="cividis", vmin=0, vmax=1, aspect="auto")
        ax.set_yticks(range(len(stats)), [plain(label) for label in labels])
        ax.set_xticks(range(width), [str(i + 1) for i in range(width)])
        ax.set_xlabel("case (in the problem's order; names in the table below)")
        ax.set_facecolor("white")
        for row in range(len(stats)):
            for col in range(width):
                if not np.isnan(grid[row, col]):
                    ax.text(col, row, f"{100 * grid[row, col]:.0f}", ha="center", va="center", fontsize=7,
                            color="white" if grid[row, col] < 0.6 else "black")
        right = ax.get_position()
        colorbar = fig.add_axes((right.x1 + 0.2 / fig.get_size_inches()[0], right.y0,
                                 0.15 / fig.get_size_inches()[0], right.height))
        fig.colorbar(image, cax=colorbar, label="failure rate")
        return self.svg(fig, "cases")

    def mistakes(self, rows: list[tuple[str, int]]) -> str:
        fig = self.Figure(figsize=(6.4 + 0.075 * max(len(label) for label, _ in rows), 0.8 + 0.3 * len(rows)))
        ax = fig.subplots()
        labels = [label for label, _ in rows][::-1]
        counts = [count for _, count in rows][::-1]
        ax.barh(range(len(rows)), counts, color=self.matplotlib.colormaps["viridis"](0.55), edgecolor="black")
        ax.set_yticks(range(len(rows)), [plain(label) for label in labels])
        ax.set_xlabel("students who made the mistake")
        ax.xaxis.get_major_locator().set_params(integer=True)
        self.margins(fig, labels)
        return self.svg(fig, "mistakes")

    def speed(self, stats: list[ProblemStats]) -> str:
        timed = [p for p in stats if p.ratios]
        fig = self.Figure(figsize=(6.4, 0.8 + 0.5 * len(timed)))
        ax = fig.subplots()
        for row, p in enumerate(timed):
            ratios = [r for _, _, r, _ in p.ratios]
            jitter = [row + 0.25 * (((i * 7919) % 17) / 16 - 0.5) for i in range(len(ratios))]
            ax.scatter(ratios, jitter, s=14, marker="o", facecolors="none", edgecolors="black")
            limit = max(m for _, _, _, m in p.ratios)
            if limit > 0:
                ax.plot([limit, limit], [row - 0.4, row + 0.4], color="black", linestyle="--")
        ax.set_xscale("log")
        everything = [x for p in timed for _, _, r, m in p.ratios for x in (r, m) if x > 0]
        ax.set_xlim(min(everything) / 2, max(everything) * 2)
        ax.set_yticks(range(len(timed)), [plain(p.id) for p in timed])
        ax.set_xlabel("student's time / reference's time (log; dashed: the allowed ratio)")
        self.margins(fig, [p.id for p in timed])
        return self.svg(fig, "speed")


# ---------------------------------------------------------------- the page

CSS = """
body{font-family:system-ui,sans-serif;margin:2em auto;max-width:72em;padding:0 1em;color:#111}
table{border-collapse:collapse;margin:.5em 0}td,th{border:1px solid #999;padding:.2em .5em;text-align:left;vertical-align:top}
th{background:#eee}.num{text-align:right}pre{white-space:pre-wrap;margin:0;font-size:.85em}
figure.plot svg{max-width:100%;height:auto}nav a{margin-right:1em}.muted{color:#555}
.side{display:grid;grid-template-columns:1fr 1fr;gap:1em}.side pre{border:1px solid #999;padding:.3em;background:#f6f6f6}
section.student{border-top:2px solid #333;margin-top:1.5em}
@media print{nav{display:none}details{display:block}details>*{display:block}section.student{break-inside:avoid}}
"""


def render_report(data: ClassData, plots: Plots | None = None) -> str:
    """The whole page. `plots`: a Plots (matplotlib); None leaves the figures out (tables only)."""
    stats = problem_stats(data)
    parts = [f"<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{esc(data.title)}</title>"
             f"<style>{CSS}</style></head><body>",
             f"<h1>{esc(data.title)}</h1>",
             '<nav><a href="#scores">Scores</a><a href="#cases">Cases</a><a href="#mistakes">Mistakes</a>'
             '<a href="#limits">Limits and speed</a><a href="#near-copies">Near-copies</a>'
             '<a href="#students">Students</a></nav>']
    if plots is None:
        parts.append(f'<p class="muted">No plots: {esc(INSTALL_HINT)}</p>')
    parts += [_scores(data, stats, plots), _cases(stats, plots), _mistakes(stats, plots),
              _limits_and_speed(data, stats, plots), _near_copies(data), _students(data)]
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _student_link(student: str) -> str:
    return f'<a href="#{esc(anchor(student))}" data-student="{esc(student)}">{esc(student)}</a>'


def _scores(data: ClassData, stats: list[ProblemStats], plots: Plots | None) -> str:
    marks = totals(data)
    top = max_total(data)
    full = sum(1 for t in marks if t >= top - 1e-9)
    mean = sum(marks) / len(marks) if marks else 0.0
    out = ['<section id="scores"><h2>Scores</h2>',
           f"<p>{stat('students', len(marks))} students; total out of {stat('max-score', top)}: "
           f"mean {stat('mean', mean, f'{mean:.2f}')}, median {stat('median', median(marks), f'{median(marks):.2f}')}, "
           f"full marks {stat('full-marks', full)}.</p>"]
    if plots:
        out.append(plots.histogram([100 * t / top if top else 0.0 for t in marks]))
    out.append("<table><tr><th>problem</th><th>points</th><th>mean</th><th>full marks</th><th>full-marks rate</th>"
               "<th>did not run</th><th>grader errors</th></tr>")
    for p in stats:
        n = len(p.scores)
        rate = p.full_marks / n if n else 0.0
        out.append(f'<tr><td>{esc(p.id)}</td><td class="num">{stat("problem-max", p.max_score, problem=p.id)}</td>'
                   f'<td class="num">{stat("problem-mean", p.mean, f"{p.mean:.2f}", problem=p.id)}</td>'
                   f'<td class="num">{stat("problem-full-marks", p.full_marks, problem=p.id)} / {n}</td>'
                   f'<td class="num">{stat("problem-full-marks-rate", rate, f"{100 * rate:.1f}%", problem=p.id)}</td>'
                   f'<td class="num">{stat("problem-did-not-run", p.did_not_run, problem=p.id)}</td>'
                   f'<td class="num">{stat("problem-grader-errors", p.grader_errors, problem=p.id)}</td></tr>')
    out.append("</table></section>")
    return "\n".join(out)


def _cases(stats: list[ProblemStats], plots: Plots | None) -> str:
    out = ['<section id="cases"><h2>Which cases the class fails</h2>',
           '<p class="muted">Share of students failing each case (a case that could not run counts as failed).</p>']
    if plots and any(p.cases for p in stats):
        out.append(plots.heatmap(stats))
    for p in stats:
        out.append(f"<details><summary>{esc(p.id)}: {len(p.cases)} cases</summary><table>"
                   "<tr><th>#</th><th>case</th><th>failed</th><th>failure rate</th></tr>")
        for i, (case, (failed, total)) in enumerate(p.cases.items(), 1):
            rate = failed / total if total else 0.0
            out.append(f'<tr><td class="num">{i}</td><td>{esc(case)}</td>'
                       f'<td class="num">{stat("case-failed", failed, problem=p.id, case=case)} / {total}</td>'
                       f'<td class="num">{stat("case-failure-rate", rate, f"{100 * rate:.0f}%", problem=p.id, case=case)}</td></tr>')
        out.append("</table></details>")
    out.append("</section>")
    return "\n".join(out)


def _mistakes(stats: list[ProblemStats], plots: Plots | None) -> str:
    out = ['<section id="mistakes"><h2>Named mistakes: what to re-teach</h2>']
    ranked = sorted(((p.id, m, len(who)) for p in stats for m, who in p.mistakes.items()), key=lambda r: (-r[2], r[0], r[1]))
    if not ranked:
        out.append("<p>No submission matched a known mistake.</p></section>")
        return "\n".join(out)
    if plots:
        out.append(plots.mistakes([(f"{pid}: {m}", n) for pid, m, n in ranked[:25]]))
    for p in stats:
        if not p.mistakes:
            continue
        out.append(f"<h3>{esc(p.id)}</h3><table><tr><th>mistake</th><th>students</th><th>who</th><th>feedback</th></tr>")
        for mistake, who in sorted(p.mistakes.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            out.append(f'<tr data-mistake-row="" data-problem="{esc(p.id)}" data-mistake="{esc(mistake)}">'
                       f"<td>{esc(mistake)}</td>"
                       f'<td class="num">{stat("mistake-count", len(who), problem=p.id, mistake=mistake)}</td>'
                       f"<td>{', '.join(_student_link(s) for s in who)}</td><td>{esc(p.feedback.get(mistake, ''))}</td></tr>")
        out.append("</table>")
    out.append("</section>")
    return "\n".join(out)


def _limits_and_speed(data: ClassData, stats: list[ProblemStats], plots: Plots | None) -> str:
    out = ['<section id="limits"><h2>Limits hit and speed</h2>']
    hits = [(str(r.get("student", "")), str(p.get("problem", "")), [str(x) for x in p.get("limits_hit") or []])
            for r in data.students for p in r.get("problems", []) if p.get("limits_hit")]
    out.append(f"<p>Problem-submissions that hit a limit: {stat('limits-hit', len(hits))}.</p>")
    if hits:
        out.append("<table><tr><th>student</th><th>problem</th><th>limits</th></tr>")
        for student, problem, limits in hits:
            out.append(f'<tr data-limit-row="" data-student="{esc(student)}" data-problem="{esc(problem)}" '
                       f'data-limits="{esc(",".join(limits))}"><td>{_student_link(student)}</td><td>{esc(problem)}</td>'
                       f"<td>{esc(', '.join(limits))}</td></tr>")
        out.append("</table>")
    timed = [p for p in stats if p.ratios]
    out.append("<h3>Speed tests</h3>")
    if not timed:
        out.append("<p>No speed test was timed.</p></section>")
        return "\n".join(out)
    if plots:
        out.append(plots.speed(stats))
    out.append("<table><tr><th>problem</th><th>timed</th><th>median ratio</th><th>largest ratio</th>"
               "<th>over the allowed ratio</th></tr>")
    for p in timed:
        ratios = [r for _, _, r, _ in p.ratios]
        over = sum(1 for _, _, r, m in p.ratios if m and r > m)
        out.append(f'<tr><td>{esc(p.id)}</td><td class="num">{stat("speed-count", len(ratios), problem=p.id)}</td>'
                   f'<td class="num">{stat("speed-median-ratio", median(ratios), f"{median(ratios):.2f}x", problem=p.id)}</td>'
                   f'<td class="num">{stat("speed-max-ratio", max(ratios), f"{max(ratios):.2f}x", problem=p.id)}</td>'
                   f'<td class="num">{stat("speed-over-limit", over, problem=p.id)}</td></tr>')
    out.append("</table></section>")
    return "\n".join(out)


def _excerpt(sources: dict[str, str], ranges: list[tuple[str, int, int]]) -> str:
    chunks = []
    for file, first, last in ranges:
        lines = sources.get(file, "").splitlines()[first - 1:last]
        body = "\n".join(f"{n:>4}  {line}" for n, line in zip(range(first, last + 1), lines))
        chunks.append(f"<pre>{esc(file)} lines {first}-{last}\n{esc(body)}</pre>")
    return "".join(chunks)


def _near_copies(data: ClassData) -> str:
    out = ['<section id="near-copies"><h2>Near-copies</h2>']
    if data.near_copies is None:
        out.append("<p>Not checked: the submissions were not given (grader report DIR --submissions PATH).</p></section>")
        return "\n".join(out)
    out.append(f"<p>Pairs whose code is at least {stat('near-copy-threshold', data.threshold, f'{100 * data.threshold:.0f}%')} "
               "the same once names, comments and formatting are normalised (starter code, references and code "
               f"common to much of the class excluded): {stat('near-copies', len(data.near_copies))}. A high score "
               "is a reason to look, not a verdict.</p>")
    for pair in data.near_copies:
        out.append(f'<details data-pair="" data-a="{esc(pair.a)}" data-b="{esc(pair.b)}" data-score="{value(pair.score)}">'
                   f"<summary>{esc(pair.a)} and {esc(pair.b)}: {100 * pair.score:.0f}% "
                   f"({pair.shared} shared fingerprints)</summary><div class=\"side\">"
                   f"<div>{_student_link(pair.a)}{_excerpt(data.sources.get(pair.a, {}), pair.lines_a)}</div>"
                   f"<div>{_student_link(pair.b)}{_excerpt(data.sources.get(pair.b, {}), pair.lines_b)}</div>"
                   "</div></details>")
    out.append("</section>")
    return "\n".join(out)


def _students(data: ClassData) -> str:
    out = ['<section id="students"><h2>Students</h2>']
    rows = {row["student"]: row for row in data.gradebook}
    for record in data.students:
        student = str(record.get("student", ""))
        total = float(rows[student]["total"]) if student in rows else float(record.get("score", 0.0))
        out.append(f'<section class="student" id="{esc(anchor(student))}" data-student="{esc(student)}">'
                   f'<h3><a href="#{esc(anchor(student))}">{esc(student)}</a>: '
                   f'{stat("student-total", total, student=student)} / {esc(number(float(record.get("max_score", 0.0))))}</h3>'
                   "<table><tr><th>problem</th><th>score</th><th>what went wrong</th></tr>")
        for problem in record.get("problems", []):
            pid = str(problem.get("problem", ""))
            notes = []
            if problem.get("error"):
                notes.append(f"<pre>{esc(str(problem['error'])[:MESSAGE_CHARS])}</pre>")
            if problem.get("limits_hit"):
                notes.append(f"<p>limits hit: {esc(', '.join(map(str, problem['limits_hit'])))}</p>")
            failed = [t for t in problem.get("tests", []) if t.get("status") != "passed"]
            made = sorted({str(t["mistake"]) for t in failed if t.get("mistake")})
            if made:
                notes.append(f"<p>mistakes: {esc(', '.join(made))}</p>")
            if problem.get("feedback"):
                lines = "\n".join(str(line)[:MESSAGE_CHARS] for line in problem["feedback"][:10])
                notes.append(f"<pre>{esc(lines)}</pre>")
            if failed and not problem.get("error"):
                items = []
                for t in failed:
                    mistake = f" (mistake: {esc(t['mistake'])})" if t.get("mistake") else ""
                    message = str(t.get("output", ""))
                    message = message if len(message) <= MESSAGE_CHARS else message[:MESSAGE_CHARS] + " ..."
                    items.append(f"<li>{esc(t.get('name', ''))}: {esc(t.get('outcome', ''))}{mistake}"
                                 f"<pre>{esc(message)}</pre></li>")
                notes.append(f"<details><summary>{len(failed)} failing case(s)</summary><ul>{''.join(items)}</ul></details>")
            out.append(f"<tr><td>{esc(pid)}</td><td class=\"num\">"
                       f"{stat('student-problem-score', float(problem.get('score', 0.0)), student=student, problem=pid)}"
                       f" / {esc(number(float(problem.get('max_score', 0.0))))}</td><td>{''.join(notes)}</td></tr>")
        out.append("</table></section>")
    out.append("</section>")
    return "\n".join(out)
