"""Wrong precision / recall / F1 computations students write."""
import torch


def _counts(predictions, labels):
    tp = int(((predictions == 1) & (labels == 1)).sum())
    fp = int(((predictions == 1) & (labels == 0)).sum())
    fn = int(((predictions == 0) & (labels == 1)).sum())
    return tp, fp, fn


def _ratio(a, b):
    return a / b if b > 0 else 0.0


def prf_swapped(predictions, labels):
    """Precision and recall swapped: TP / (TP + FN) reported as precision."""
    tp, fp, fn = _counts(predictions, labels)
    precision, recall = _ratio(tp, tp + fn), _ratio(tp, tp + fp)
    f1 = _ratio(2 * precision * recall, precision + recall)
    return float(precision), float(recall), float(f1)


def prf_arithmetic_mean(predictions, labels):
    """F1 as the arithmetic mean (P + R) / 2 instead of the harmonic mean."""
    tp, fp, fn = _counts(predictions, labels)
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    return float(precision), float(recall), float((precision + recall) / 2)


def prf_nan_on_zero_division(predictions, labels):
    """Divides without checking: 0 / 0 gives NaN (float division in torch)."""
    tp, fp, fn = _counts(predictions, labels)
    t = torch.tensor([tp, fp, fn], dtype=torch.float64)
    precision = (t[0] / (t[0] + t[1])).item()
    recall = (t[0] / (t[0] + t[2])).item()
    f1 = 2 * precision * recall / (precision + recall) if precision + recall != 0 else float("nan")
    return precision, recall, f1


def prf_tensors(predictions, labels):
    """Right values, but returned as 0-dim tensors instead of Python floats."""
    tp, fp, fn = _counts(predictions, labels)
    precision, recall = _ratio(tp, tp + fp), _ratio(tp, tp + fn)
    f1 = _ratio(2 * precision * recall, precision + recall)
    return torch.tensor(float(precision)), torch.tensor(float(recall)), torch.tensor(float(f1))


def prf_accuracy_as_precision(predictions, labels):
    """Accuracy (TP + TN) / n reported as precision."""
    tp, fp, fn = _counts(predictions, labels)
    accuracy = float((predictions == labels).sum()) / labels.numel()
    recall = _ratio(tp, tp + fn)
    f1 = _ratio(2 * accuracy * recall, accuracy + recall)
    return float(accuracy), float(recall), float(f1)
