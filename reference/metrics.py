"""Classification metrics (course notes 000: precision, recall, F1)."""


def precision_recall_f1(predictions, labels):
    """Precision, recall and F1 of a binary classifier; 1 is the positive class.

    precision = TP / (TP + FP)        of the examples predicted positive, how many are positive
    recall    = TP / (TP + FN)        of the positive examples, how many were found
    F1        = 2 P R / (P + R)       the harmonic mean of precision and recall
    A ratio whose denominator is 0 is 0.0 (scikit-learn's zero_division=0).
    Returns three Python floats.
    """
    tp = int(((predictions == 1) & (labels == 1)).sum())
    fp = int(((predictions == 1) & (labels == 0)).sum())
    fn = int(((predictions == 0) & (labels == 1)).sum())
    precision = tp / (tp + fp) if tp + fp > 0 else 0.0
    recall = tp / (tp + fn) if tp + fn > 0 else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall > 0 else 0.0
    return float(precision), float(recall), float(f1)
