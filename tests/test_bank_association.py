"""apriori: brute force and level-wise solutions pass in any order; mistakes are named."""
from __future__ import annotations

APRIORI_BRUTE = """
from itertools import combinations

def apriori(transactions, min_support):
    t, n_items = transactions.shape
    out = []
    for size in range(n_items, 0, -1):            # largest first: order does not matter
        for items in combinations(range(n_items), size):
            count = int(transactions[:, list(items)].all(dim=1).sum())
            if count / t >= min_support:
                out.append([list(reversed(items)), count / t])   # lists, items reversed
    return out
"""

APRIORI_STRICT = APRIORI_BRUTE.replace(">= min_support", "> min_support")


def test_apriori_brute_force_in_any_order_passes(grade_source):
    result = grade_source("apriori", APRIORI_BRUTE)
    assert result.passed, [t.output for t in result.tests if not t.passed]


def test_apriori_strict_threshold_is_named(grade_source):
    result = grade_source("apriori", APRIORI_STRICT)
    assert not result.passed
    failed = {t.name: t for t in result.tests if not t.passed}
    assert "threshold-inclusive" in failed
    assert failed["threshold-inclusive"].mistake == "strict-threshold"
    assert "Missing:" in failed["threshold-inclusive"].output


RULES_COUNTS = """
from itertools import combinations

def association_rules(transactions, min_support, min_confidence):
    t, n = transactions.shape
    count = lambda items: int(transactions[:, list(items)].all(dim=1).sum())
    rules = []
    for size in range(2, n + 1):
        for s in combinations(range(n), size):
            cs = count(s)
            if cs / t < min_support:
                continue
            for k in range(1, size):
                for x in combinations(s, k):
                    y = [i for i in s if i not in x]
                    conf = cs / count(x)                      # counts, not fractions
                    if conf >= min_confidence:
                        rules.append([list(x)[::-1], y, cs / t, conf, conf * t / count(y)])
    return rules[::-1]
"""

RULES_REVERSED = RULES_COUNTS.replace("conf = cs / count(x)", "conf = cs / count(y)")


def test_association_rules_from_counts_pass(grade_source):
    result = grade_source("association-rules", RULES_COUNTS)
    assert result.passed, [t.output for t in result.tests if not t.passed]


def test_association_rules_reversed_confidence_is_named(grade_source):
    result = grade_source("association-rules", RULES_REVERSED)
    assert not result.passed
    assert {t.mistake for t in result.tests if t.mistake} == {"confidence-reversed"}
