"""Near-copies: pairs of submissions whose code is nearly the same once names, comments and
formatting are taken away.

Each submission's Python is tokenized and normalised (comments, blank lines and indentation
dropped; every local name becomes `V` and every string `S`, attribute names kept, so renaming
variables or reformatting changes nothing). Overlapping k-token windows are hashed and winnowed
(the smallest hash of each run of `window` hashes is kept; Schleimer, Wilkerson and Aiken,
"Winnowing", SIGMOD 2003): any shared run of at least k + window - 1 tokens is found. Fingerprints
that also occur in the starter code or the reference implementations, or in many submissions
of the class, are boilerplate and do not count.

A pair's score is its shared fingerprints over the smaller submission's fingerprints: 1.0 when
one submission is contained in the other. Student code is only read here, never run; the sizes
read and tokenized are capped, and code that does not tokenize counts up to where it breaks.
"""
from __future__ import annotations

import io
import keyword
import math
import tokenize
import zlib
from dataclasses import dataclass, field
from itertools import combinations

K = 8                     #: tokens per k-gram
WINDOW = 4                #: k-grams per winnowing window
DEFAULT_THRESHOLD = 0.8   #: pairs at or above this score are listed
MIN_FINGERPRINTS = 8      #: submissions with fewer (after exclusions) are too small to judge
MAX_SOURCE_CHARS = 200_000  #: per file: longer files are cut here
MAX_TOKENS = 50_000       #: per submission

_SKIPPED = {tokenize.COMMENT, tokenize.NL, tokenize.NEWLINE, tokenize.INDENT, tokenize.DEDENT,
            tokenize.ENCODING, tokenize.ENDMARKER}


@dataclass
class Token:
    text: str   #: the normalised token
    file: str
    line: int


def normalised_tokens(source: str, file: str = "<source>") -> list[Token]:
    """The source's tokens with names, strings, comments and layout normalised away."""
    tokens: list[Token] = []
    previous = ""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(source[:MAX_SOURCE_CHARS]).readline):
            if tok.type in _SKIPPED or tok.type == tokenize.ERRORTOKEN and not tok.string.strip():
                continue
            text = tok.string
            if tok.type == tokenize.NAME and not keyword.iskeyword(text) and previous != ".":
                text = "V"
            elif tok.type == tokenize.STRING:
                text = "S"
            previous = tok.string
            tokens.append(Token(text, file, tok.start[0]))
            if len(tokens) >= MAX_TOKENS:
                break
    except (tokenize.TokenError, SyntaxError, ValueError):
        pass  # code that does not tokenize counts up to where it breaks
    return tokens


@dataclass
class Fingerprints:
    """A submission's winnowed fingerprints: hash -> where each occurrence lies (file, first, last line)."""

    where: dict[int, list[tuple[str, int, int]]] = field(default_factory=dict)


def fingerprints(sources: dict[str, str], k: int = K, window: int = WINDOW) -> Fingerprints:
    """Winnowed k-gram fingerprints of every file of one submission (file name -> source)."""
    result = Fingerprints()
    for name, source in sorted(sources.items()):
        tokens = normalised_tokens(source, name)
        hashes = [zlib.crc32("\x1f".join(t.text for t in tokens[i:i + k]).encode())
                  for i in range(len(tokens) - k + 1)]
        chosen: set[int] = set()
        for start in range(max(1, len(hashes) - window + 1)):
            run = hashes[start:start + window]
            if not run:
                break
            smallest = min(run)
            chosen.add(start + max(i for i, h in enumerate(run) if h == smallest))  # rightmost minimum
        for position in sorted(chosen):
            result.where.setdefault(hashes[position], []).append(
                (name, tokens[position].line, tokens[position + k - 1].line))
    return result


@dataclass
class NearCopy:
    """Two submissions that share most of their fingerprints, and where."""

    a: str
    b: str
    score: float                    #: shared fingerprints / the smaller submission's fingerprints
    shared: int                     #: fingerprints in common
    lines_a: list[tuple[str, int, int]]   #: (file, first line, last line) of the matching code in a
    lines_b: list[tuple[str, int, int]]


def merge_ranges(spans: list[tuple[str, int, int]]) -> list[tuple[str, int, int]]:
    """Overlapping or touching (file, first, last) line spans joined into ranges, in file order."""
    merged: list[tuple[str, int, int]] = []
    for file, first, last in sorted(spans):
        if merged and merged[-1][0] == file and first <= merged[-1][2] + 1:
            merged[-1] = (file, merged[-1][1], max(last, merged[-1][2]))
        else:
            merged.append((file, first, last))
    return merged


def find_near_copies(submissions: dict[str, dict[str, str]], *, exclude: list[str] = (),
                     threshold: float = DEFAULT_THRESHOLD, common: int | None = None) -> list[NearCopy]:
    """Pairs of submissions (student -> {file: source}) scoring at least `threshold`, best first.

    `exclude`: sources whose fingerprints are boilerplate (starter code, references). `common`: a
    fingerprint found in more submissions than this is boilerplate too (default: 4 or a tenth of the
    class, whichever is more)."""
    prints = {student: fingerprints(files) for student, files in submissions.items()}
    excluded: set[int] = set()
    for source in exclude:
        excluded |= set(fingerprints({"<excluded>": source}).where)
    owners: dict[int, list[str]] = {}
    for student, fp in prints.items():
        for h in fp.where:
            if h not in excluded:
                owners.setdefault(h, []).append(student)
    limit = common if common is not None else max(4, math.ceil(len(submissions) / 10))
    kept = {h: students for h, students in owners.items() if len(students) <= limit}
    sizes = {student: 0 for student in prints}
    for students in kept.values():
        for student in students:
            sizes[student] += 1
    shared: dict[tuple[str, str], list[int]] = {}
    for h, students in kept.items():
        for a, b in combinations(sorted(students), 2):
            shared.setdefault((a, b), []).append(h)
    pairs = []
    for (a, b), hashes in shared.items():
        smaller = min(sizes[a], sizes[b])
        if smaller < MIN_FINGERPRINTS:
            continue
        score = len(hashes) / smaller
        if score + 1e-12 >= threshold:
            pairs.append(NearCopy(a, b, round(score, 4), len(hashes),
                                  merge_ranges([span for h in hashes for span in prints[a].where[h]]),
                                  merge_ranges([span for h in hashes for span in prints[b].where[h]])))
    pairs.sort(key=lambda p: (-p.score, p.a, p.b))
    return pairs


def boilerplate_sources(problems, reference_dir) -> list[str]:
    """What every student may legitimately share: each problem's starter code and the source of
    the reference module it names (`problems`: bank Problems; `reference_dir`: the bank's reference/)."""
    sources = []
    for problem in problems:
        spec = problem.spec
        if spec.get("starter"):
            sources.append(spec["starter"])
        reference = spec.get("reference")
        if isinstance(reference, str) and ":" in reference:
            path = reference_dir.joinpath(*reference.split(":")[0].split(".")).with_suffix(".py")
            if path.is_file():
                sources.append(path.read_text(encoding="utf-8", errors="replace"))
    return sources
