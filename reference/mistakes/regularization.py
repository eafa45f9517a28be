"""Wrong L1/L2 penalties and gradients students write."""
import torch


# ---- L2: penalty = lam * sum(w^2), grad = 2 lam w

def l2_half_convention(w, lam):
    """The lam/2 ||w||^2 convention (grad lam w) where the problem asks for lam ||w||^2."""
    return 0.5 * lam * (w * w).sum(), lam * w


def l2_grad_missing_two(w, lam):
    """Right penalty, but the gradient forgets the 2 from d(w^2)/dw."""
    return lam * (w * w).sum(), lam * w


def l2_norm_not_squared(w, lam):
    """lam * ||w|| (torch.norm, not squared); gradient lam w / ||w||."""
    norm = torch.linalg.vector_norm(w)
    return lam * norm, lam * w / norm


def l2_mean_not_sum(w, lam):
    """Averages w^2 over the elements instead of summing."""
    return lam * (w * w).mean(), 2 * lam * w / w.numel()


# ---- L1: penalty = lam * sum|w|, grad = lam sign(w), 0 at 0

def l1_sign_at_zero_positive(w, lam):
    """Subgradient +lam at w == 0 (e.g. torch.where(w >= 0, 1, -1)); the problem asks for 0."""
    return lam * w.abs().sum(), lam * torch.where(w >= 0, 1.0, -1.0).to(w.dtype)


def l1_l2_gradient(w, lam):
    """The L2 gradient lam * w (or 2 lam w) used for the L1 penalty."""
    return lam * w.abs().sum(), lam * w


def l1_missing_abs(w, lam):
    """lam * sum(w) without the absolute value."""
    return lam * w.sum(), lam * torch.ones_like(w)


def l1_half(w, lam):
    """lam/2 * sum|w| (the L2 convention's 1/2 carried over), gradient lam/2 sign(w)."""
    return 0.5 * lam * w.abs().sum(), 0.5 * lam * torch.sign(w)
