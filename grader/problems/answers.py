"""Students' answers to quiz questions: answers files and answers as people type them.

An answers file is YAML (or JSON, which is YAML) mapping problem id -> answer:

    coin-entropy-quiz: 0.47          # a number: 0.47, .47, 47%, 1e-3, 3/4, 0,47
    which-activation-zero-centered: b
    l1-vs-l2: B, D                   # several letters: "B, D", "b,d", "bd", [b, d]
    conv-output-size: conv.py        # a code problem: a .py path inside this file's folder

A file holding a single scalar (just `0.47`) answers the one problem named on the command line.
Nothing here raises for a bad *answer*: parsing returns an `AnswerError` message that grading turns
into 0 points for that question. Only an unreadable or malformed *file* is a `UsageError` (exit 2).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any

import yaml

from grader.errors import UsageError

MAX_ANSWERS_BYTES = 1 << 20
MAX_ANSWER_CHARS = 200
MAX_LIST_ITEMS = 100  #: items in a list answer (there are at most 26 options)
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


@dataclass
class Answer:
    """One student's raw answer to one question (None: not answered) and where it came from."""

    value: Any
    source: str = "answer"
    base: Path | None = None   #: folder that relative paths in the answer are resolved against
    others: list[str] | None = None  #: the ids the answers file does answer, when this one is missing

    def missing_message(self, problem_id: str) -> str:
        """What to tell a student whose answers file has no answer for `problem_id`."""
        import difflib

        text = f"no answer given for '{problem_id}'" + (f" in {self.source}" if self.source != "answer" else "")
        if self.others:
            close = difflib.get_close_matches(problem_id, self.others, n=1)
            text += (f" (did you mean '{problem_id}' instead of '{close[0]}'?)" if close
                     else f" (it answers: {', '.join(self.others[:5])})")
        return text

    @property
    def missing(self) -> bool:
        return self.value is None or (isinstance(self.value, str) and not self.value.strip())


class AnswerError(ValueError):
    """An answer that cannot be read; the message is written for the student."""


# ---------------------------------------------------------------- answers files

def read_answers_file(path: Path | str) -> dict[str, Any] | Any:
    """The answers in `path`: a mapping id -> answer, or a bare scalar. UsageError if unreadable.

    The file is a student's: it is parsed with limits (size, nesting, no aliases, number lengths,
    plain YAML types only) checked before any Python object is built from it."""
    path = Path(path)
    if not path.is_file():
        what = "no such file" if not path.exists() else "not a regular file"
        raise UsageError(f"{path}: {what}", "Give the answers file: a YAML mapping of question id -> answer.")
    try:
        with open(path, "rb") as fh:
            raw = fh.read(MAX_ANSWERS_BYTES + 1)  # never more than the cap, even if the file grows
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the answers file ({exc.strerror or exc})") from None
    if len(raw) > MAX_ANSWERS_BYTES:
        raise UsageError(f"{path}: the answers file is too big (limit {MAX_ANSWERS_BYTES} bytes)",
                         "An answers file holds one short 'question-id: answer' line per question.")
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError:
        raise UsageError(f"{path}: the answers file is not UTF-8 text") from None
    data = load_answers_yaml(text, str(path))
    if data is None:
        return {}
    if isinstance(data, dict):
        return {str(k): v for k, v in data.items()}
    if isinstance(data, (str, int, float, list)):
        return data
    raise UsageError(f"{path}: the answers file must map question ids to answers (question-id: answer), "
                     f"got {type(data).__name__}")


# ---------------------------------------------------------------- bounded YAML

MAX_ANSWERS_DEPTH = 50    #: nesting of lists and mappings (an answers file needs 2)
MAX_NUMBER_CHARS = 100    #: an int or float written longer than this is refused before int()/float()
_PLAIN_TAGS = {f"tag:yaml.org,2002:{name}": name for name in ("null", "bool", "int", "float", "str", "seq", "map")}
_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: 10x faster on a big file
_WRITE_IT_OUT = "Write each answer out in full: 'question-id: answer', one per line."


def load_answers_yaml(text: str, source: str) -> Any:
    """The value of a student's YAML `text`, built only after it passed every limit.

    Three passes: events (aliases and nesting refused as they stream by, so a "billion laughs"
    file or 100,000 nested brackets stop after a few events), then the node tree (each scalar's
    type and length checked, naming the question it answers), then the plain safe constructor."""
    try:
        _check_events(text, source)
        loader = _LOADER(text)
        try:
            node = loader.get_single_node()
            if node is None:
                return None
            _check_nodes(node, source)
            return loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" line {mark.line + 1}, column {mark.column + 1}:" if mark else ""
        if "maximum nesting depth" in str(exc):  # newer libyaml stops deep nesting itself, at 1000
            raise UsageError(f"{source}:{where} the answers file is nested more than {MAX_ANSWERS_DEPTH} levels deep",
                             _WRITE_IT_OUT) from None
        raise UsageError(f"{source}:{where} the answers file is not valid YAML ({getattr(exc, 'problem', None) or exc})",
                         "Write one 'question-id: answer' per line; quote answers that start with '%' or ':'.") from None


def _line(node_or_event) -> str:
    mark = getattr(node_or_event, "start_mark", None)
    return f" line {mark.line + 1}:" if mark else ""


def _check_events(text: str, source: str) -> None:
    loader = _LOADER(text)
    depth = 0
    try:
        while True:
            event = loader.get_event()
            if event is None:
                return
            if isinstance(event, yaml.AliasEvent):
                raise UsageError(f"{source}:{_line(event)} the answers file refers back to an anchor "
                                 f"(*{_clip(str(event.anchor))}); YAML aliases are not accepted in answers files",
                                 _WRITE_IT_OUT)
            if isinstance(event, (yaml.SequenceStartEvent, yaml.MappingStartEvent)):
                depth += 1
                if depth > MAX_ANSWERS_DEPTH:
                    raise UsageError(f"{source}:{_line(event)} the answers file is nested more than "
                                     f"{MAX_ANSWERS_DEPTH} levels deep", _WRITE_IT_OUT)
            elif isinstance(event, (yaml.SequenceEndEvent, yaml.MappingEndEvent)):
                depth -= 1
    finally:
        loader.dispose()


def _check_nodes(root: yaml.Node, source: str) -> None:
    """Plain types only and numbers of sane length, naming the question ('the answer' for a bare one)."""
    todo: list[tuple[yaml.Node, yaml.Node | None]] = [(root, None)]  # (node, key node of the question)
    while todo:
        node, question = todo.pop()
        kind = _PLAIN_TAGS.get(node.tag)
        if kind is None:
            shown = node.tag.rsplit(":", 1)[-1] if node.tag.startswith("tag:yaml.org") else node.tag
            raise UsageError(f"{source}:{_line(node)} {_field(question)}: a YAML {_clip(shown)} is not an answer; "
                             "answers are numbers, text or lists of them", "Put the answer in quotes to give it as text.")
        if kind in ("int", "float") and len(node.value) > MAX_NUMBER_CHARS:
            raise UsageError(f"{source}:{_line(node)} {_field(question)}: the number is {len(node.value)} characters "
                             f"long (at most {MAX_NUMBER_CHARS})", "Write the answer with fewer digits.")
        if kind == "seq":
            todo += [(item, question) for item in node.value]
        elif kind == "map":
            for key, value in node.value:
                if node is root and not isinstance(key, yaml.ScalarNode):
                    raise UsageError(f"{source}:{_line(key)} the keys of an answers file are question ids, "
                                     "not lists or mappings", _WRITE_IT_OUT)
                todo += [(key, key if node is root else question), (value, key if node is root else question)]


def _field(question: yaml.Node | None) -> str:
    return "the answer" if question is None else f"'{_clip(str(question.value))}'"


def answer_for(problem_id: str, path: Path | str) -> Answer:
    """The answer to `problem_id` in the answers file `path` (a missing one is Answer(None))."""
    if isinstance(path, Answer):
        return path
    path = Path(path)
    data = read_answers_file(path)
    if isinstance(data, dict):
        others = None if problem_id in data else sorted(data)
        return Answer(data.get(problem_id), f"{path}", path.parent, others)
    return Answer(data, f"{path}", path.parent)


def other_ids(problem_ids, path: Path | str) -> list[str]:
    """Ids answered in `path` that are not among `problem_ids` (typos, other quizzes)."""
    data = read_answers_file(path)
    return [k for k in data if k not in set(problem_ids)] if isinstance(data, dict) else []


# ---------------------------------------------------------------- code files named by an answer

def code_path(raw: str, base: Path | None) -> Path:
    """The file a code question's answer names, which must lie inside `base` (the answers file's
    folder; the working folder when None). AnswerError for an absolute path, `~`, `..`, or a
    symlink leading out: an answers file may not reach the bank or another student's folder."""
    text = raw.strip()
    how = "write the path of your .py file relative to the answers file's folder, e.g. conv.py or code/conv.py"
    if "\0" in text or len(text) > 4096:
        raise AnswerError(f"'{_clip(text)}' is not a file name; {how}")
    path = Path(text)
    if path.is_absolute() or text.startswith("~"):
        raise AnswerError(f"'{_clip(text)}' is not inside the answers file's folder; {how}")
    if ".." in path.parts:
        raise AnswerError(f"'{_clip(text)}' leaves the answers file's folder ('..'); {how}")
    folder = (base if base is not None else Path.cwd()).resolve()
    try:
        resolved = (folder / path).resolve()
    except (OSError, RuntimeError):  # a symlink loop
        raise AnswerError(f"'{_clip(text)}' cannot be resolved (a symbolic link loop?); {how}") from None
    if resolved != folder and folder not in resolved.parents:
        raise AnswerError(f"'{_clip(text)}' is a symbolic link to a place outside the answers file's folder; "
                          f"{how}")
    return folder / path


# ---------------------------------------------------------------- numbers

_NUMBER = re.compile(r"[+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?")


def parse_number(value: Any) -> float | int:
    """A number as people type it: 0.47, .47, 47%, 3, 1e-3, 3/4, 0,47 (decimal comma), −2."""
    if isinstance(value, bool) or value is None or isinstance(value, (list, dict)):
        raise AnswerError(f"expected a number, got {_show(value)}")
    if isinstance(value, (int, float)):
        if isinstance(value, int) and value.bit_length() > 1000:  # float() of it would overflow
            raise AnswerError("that number is too large")
        if isinstance(value, float) and not math.isfinite(value):
            raise AnswerError(f"{value} is not a finite number")
        return value
    text = str(value).strip()
    if len(text) > MAX_ANSWER_CHARS:
        raise AnswerError("that answer is too long to be a number")
    original = text
    text = text.replace("\u2212", "-").replace("\u2013", "-").replace(" ", "").replace("_", "")
    percent = text.endswith("%")
    if percent:
        text = text[:-1]
    if re.fullmatch(r"[+-]?\d{1,3}(,\d{3})+(\.\d*)?", text) and not text.lstrip("+-").startswith("0"):
        text = text.replace(",", "")        # 1,000 or 12,345.6: thousands separators
    elif text.count(",") == 1 and "." not in text:
        text = text.replace(",", ".")       # 0,47: a decimal comma
    number: float | int
    if _NUMBER.fullmatch(text):
        number = int(text) if re.fullmatch(r"[+-]?\d+", text) else float(text)
    elif re.fullmatch(r"[+-]?\d+/\d+", text):
        num, den = text.split("/")
        if int(den) == 0:
            raise AnswerError(f"'{original}' divides by zero")
        number = float(Fraction(int(num), int(den)))
    else:
        raise AnswerError(f"could not read '{_clip(original)}' as a number; write just the number, "
                          f"e.g. 0.47, .47, 47%, 1e-3 or 3/4 (no units)")
    if isinstance(number, float) and not math.isfinite(number):
        raise AnswerError(f"'{_clip(original)}' is not a finite number")
    return number / 100 if percent else number


# ---------------------------------------------------------------- option letters

def parse_letters(value: Any, n_options: int) -> list[int]:
    """Option indices (0 = A) from "b", "B, D", "b,d", "bd", "b and d", "(b)", ["b", "d"]."""
    if value is None or isinstance(value, (bool, dict)):
        raise AnswerError(f"expected option letters such as b or B, D; got {_show(value)}")
    if isinstance(value, (list, tuple)):
        if len(value) > MAX_LIST_ITEMS:
            raise AnswerError(f"that answer lists {len(value)} items; write option letters such as b or B, D")
        parts = []
        for item in value:
            parts += parse_letters_text(str(item))
        text_letters = parts
    else:
        text_letters = parse_letters_text(str(value))
    last = LETTERS[n_options - 1]
    picks: list[int] = []
    for letter in text_letters:
        index = LETTERS.index(letter)
        if index >= n_options:
            raise AnswerError(f"there is no option {letter}: the options are A to {last}")
        if index not in picks:
            picks.append(index)
    if not picks:
        raise AnswerError(f"no option letter in the answer; write letters A to {last}, e.g. b or B, D")
    return sorted(picks)


def parse_letters_text(text: str) -> list[str]:
    original = text.strip()
    if len(original) > MAX_ANSWER_CHARS:
        raise AnswerError("that answer is too long; write option letters such as b or B, D")
    cleaned = re.sub(r"\band\b|&|\+", ",", original, flags=re.IGNORECASE)
    cleaned = re.sub(r"[()\[\].:;)/]", " ", cleaned)
    tokens = [t for t in re.split(r"[\s,]+", cleaned) if t]
    letters = []
    for token in tokens:
        if not re.fullmatch(r"[A-Za-z]+", token) or (len(token) > 1 and len(set(token.upper())) != len(token)):
            raise AnswerError(f"could not read '{_clip(original)}' as option letters; write e.g. b or B, D")
        if len(token) > 1 and len(token) > 6:
            raise AnswerError(f"could not read '{_clip(original)}' as option letters; write e.g. b or B, D")
        letters += list(token.upper())
    return letters


def letters(indices) -> str:
    return ", ".join(LETTERS[i] for i in sorted(indices))


def _clip(text: str, n: int = 40) -> str:
    text = "".join(ch if ch.isprintable() else "?" for ch in text)
    return text if len(text) <= n else text[: n - 3] + "..."


def _show(value: Any) -> str:
    if value is None:
        return "nothing"
    return f"a {type(value).__name__} ({_clip(repr(value))})"
