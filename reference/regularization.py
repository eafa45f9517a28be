"""Norm penalties and their gradients (course notes 000, 003, 004: weight decay, Ridge and Lasso)."""
import torch


def l2_penalty_grad(w, lam):
    """L2 penalty (weight decay, notes 004: Omega(W) = sum_ij W_ij^2) and its gradient.

    penalty = lam * ||w||^2 = lam * sum_i w_i^2      (no 1/2 in front)
    grad    = d penalty / dw = 2 * lam * w
    w: a tensor of any shape; lam: a Python float.
    Returns (penalty, grad): a 0-d tensor and a tensor shaped like w, both in w's dtype.
    """
    penalty = lam * (w * w).sum()     # ()
    grad = 2 * lam * w                # like w
    return penalty, grad


def l1_penalty_grad(w, lam):
    """L1 penalty (Lasso, notes 004: Omega(W) = sum_ij |W_ij|) and a subgradient.

    penalty = lam * ||w||_1 = lam * sum_i |w_i|
    grad    = lam * sign(w), with sign(0) = 0 (the subgradient torch.sign picks at the kink)
    Returns (penalty, grad): a 0-d tensor and a tensor shaped like w, both in w's dtype.
    """
    penalty = lam * w.abs().sum()     # ()
    grad = lam * torch.sign(w)        # like w; 0 where w == 0
    return penalty, grad
