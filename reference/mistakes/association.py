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
