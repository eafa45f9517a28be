"""Wrong Apriori implementations students write."""
from reference.association import apriori as _apriori


def apriori_strict(transactions, min_support):
    """Keeps support > min_support: drops itemsets exactly at the threshold."""
    return [(s, v) for s, v in _apriori(transactions, min_support) if v > min_support]


def apriori_counts(transactions, min_support):
    """Reports support as a count of transactions instead of a fraction."""
    n = transactions.shape[0]
    return [(s, float(round(v * n))) for s, v in _apriori(transactions, min_support)]


def apriori_pairs_only(transactions, min_support):
    """Stops after pairs: no itemsets of size 3 or more."""
    return [(s, v) for s, v in _apriori(transactions, min_support) if len(s) <= 2]


def apriori_no_singletons(transactions, min_support):
    """Leaves out the frequent single items."""
    return [(s, v) for s, v in _apriori(transactions, min_support) if len(s) >= 2]


def _rules(transactions, min_support, min_confidence, *, reverse=False, lift_by_x=False,
           single=False, strict=False):
    from itertools import combinations

    support = dict(_apriori(transactions, min_support))
    rules = []
    for itemset, s in support.items():
        for size in range(1, len(itemset)):
            for x in combinations(itemset, size):
                y = tuple(i for i in itemset if i not in x)
                if single and len(y) != 1:
                    continue
                confidence = s / support[y if reverse else x]
                keep = confidence > min_confidence if strict else confidence >= min_confidence
                if keep:
                    lift = confidence / support[x if lift_by_x else y]
                    rules.append((x, y, s, confidence, lift))
    return rules


def rules_confidence_reversed(transactions, min_support, min_confidence):
    """confidence = support(X u Y) / support(Y): P(X | Y) instead of P(Y | X)."""
    return _rules(transactions, min_support, min_confidence, reverse=True)


def rules_lift_by_antecedent(transactions, min_support, min_confidence):
    """lift = confidence / support(X) instead of / support(Y)."""
    return _rules(transactions, min_support, min_confidence, lift_by_x=True)


def rules_single_consequent(transactions, min_support, min_confidence):
    """Only rules whose consequent is a single item."""
    return _rules(transactions, min_support, min_confidence, single=True)


def rules_strict_confidence(transactions, min_support, min_confidence):
    """Keeps confidence > min_confidence: drops rules exactly at the threshold."""
    return _rules(transactions, min_support, min_confidence, strict=True)
