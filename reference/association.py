"""Association rules: frequent itemsets with Apriori (course notes 000)."""
from itertools import combinations


def apriori(transactions, min_support):
    """All frequent itemsets and their support (Agrawal & Srikant 1994).

    transactions: (T, I) bool tensor, transactions[t, i] True when transaction t holds item i.
    support(S) = (number of transactions holding every item of S) / T.
    Frequent: support(S) >= min_support. Level by level: candidates of size k+1 are unions of
    frequent k-itemsets whose every k-subset is frequent (the Apriori property).
    Returns a list of (itemset, support): itemset a tuple of item indices in increasing order,
    support a Python float; in any order.
    """
    n_tx, n_items = transactions.shape
    columns = [transactions[:, i] for i in range(n_items)]

    def support(itemset):
        held = columns[itemset[0]].clone()
        for i in itemset[1:]:
            held &= columns[i]
        return int(held.sum()) / n_tx

    result = []
    level = []
    for i in range(n_items):
        s = support((i,))
        if s >= min_support:
            level.append((i,))
            result.append(((i,), s))
    while level:
        frequent = set(level)
        candidates = sorted({tuple(sorted(set(a) | set(b))) for a in level for b in level
                             if len(set(a) | set(b)) == len(a) + 1})
        level = []
        for cand in candidates:
            if all(sub in frequent for sub in combinations(cand, len(cand) - 1)):
                s = support(cand)
                if s >= min_support:
                    level.append(cand)
                    result.append((cand, s))
    return result


def association_rules(transactions, min_support, min_confidence):
    """Association rules X -> Y from the frequent itemsets (notes 000: support, confidence, lift).

    For every frequent itemset S (support >= min_support) and every split of S into non-empty
    disjoint X and Y = S - X:
        support(X -> Y)    = support(S)
        confidence(X -> Y) = support(S) / support(X)      (an estimate of P(Y | X))
        lift(X -> Y)       = confidence(X -> Y) / support(Y)
    Keep the rules with confidence >= min_confidence. Returns a list of tuples
    (antecedent, consequent, support, confidence, lift), itemsets as sorted tuples.
    """
    support = dict(apriori(transactions, min_support))   # every subset of a frequent set is frequent
    rules = []
    for itemset, s in support.items():
        for size in range(1, len(itemset)):
            for x in combinations(itemset, size):
                y = tuple(i for i in itemset if i not in x)
                confidence = s / support[x]
                if confidence >= min_confidence:
                    rules.append((x, y, s, confidence, confidence / support[y]))
    return rules
