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
