"""Wrong tanh / ReLU / Leaky ReLU / ELU backward passes and softmaxes students write."""
import torch


# ---------------------------------------------------------------- tanh backward

def tanh_backward_no_upstream(x, grad_output):
    """Local derivative only: forgets to multiply by the upstream gradient."""
    return 1 - torch.tanh(x) ** 2


def tanh_backward_uses_x(x, grad_output):
    """1 - x^2: uses the input where tanh(x) (the output h) belongs."""
    return grad_output * (1 - x * x)


def tanh_backward_sigmoid_form(x, grad_output):
    """t (1 - t): the sigmoid's derivative pattern applied to tanh."""
    t = torch.tanh(x)
    return grad_output * t * (1 - t)


def tanh_backward_not_squared(x, grad_output):
    """1 - tanh(x): forgets the square."""
    return grad_output * (1 - torch.tanh(x))


# ---------------------------------------------------------------- ReLU backward

def relu_backward_ge_zero(x, grad_output):
    """dy/dx = 1 if x >= 0 (notes 000): passes the gradient at x = 0."""
    return grad_output * (x >= 0)


def relu_backward_no_upstream(x, grad_output):
    """The 0/1 mask only, without the upstream gradient."""
    return (x > 0).to(x.dtype)


def relu_backward_masks_grad(x, grad_output):
    """Applies ReLU to the upstream gradient instead of masking by the input."""
    return grad_output.clamp(min=0)


def relu_backward_forward_value(x, grad_output):
    """Multiplies by relu(x), the forward output, instead of its derivative."""
    return grad_output * x.clamp(min=0)


# ---------------------------------------------------------------- Leaky ReLU backward

def leaky_relu_backward_fixed_slope(x, grad_output, negative_slope=0.01):
    """Hard-codes 0.01 and ignores the negative_slope argument."""
    return torch.where(x > 0, grad_output, 0.01 * grad_output)


def leaky_relu_backward_relu(x, grad_output, negative_slope=0.01):
    """The ReLU derivative: 0 for negative inputs."""
    return grad_output * (x > 0)


def leaky_relu_backward_swapped(x, grad_output, negative_slope=0.01):
    """Slope on the wrong side: negative_slope for x > 0 and 1 otherwise."""
    return torch.where(x > 0, negative_slope * grad_output, grad_output)


def leaky_relu_backward_no_upstream(x, grad_output, negative_slope=0.01):
    """Local derivative only."""
    return torch.where(x > 0, 1.0, negative_slope).to(x.dtype)


def leaky_relu_backward_ge_zero(x, grad_output, negative_slope=0.01):
    """Slope 1 at x = 0 (x >= 0) where PyTorch uses negative_slope."""
    return torch.where(x >= 0, grad_output, negative_slope * grad_output)


# ---------------------------------------------------------------- ELU backward

def elu_backward_no_upstream(x, grad_output, alpha=1.0):
    """Local derivative only."""
    return torch.where(x > 0, torch.ones_like(x), alpha * torch.exp(x.clamp(max=0)))


def elu_backward_forgets_alpha(x, grad_output, alpha=1.0):
    """exp(x) on the negative side, without alpha."""
    return grad_output * torch.where(x > 0, torch.ones_like(x), torch.exp(x.clamp(max=0)))


def elu_backward_forward_value(x, grad_output, alpha=1.0):
    """alpha (exp(x) - 1), the forward value, instead of its derivative alpha exp(x)."""
    return grad_output * torch.where(x > 0, torch.ones_like(x), alpha * (torch.exp(x.clamp(max=0)) - 1))


def elu_backward_mask_arithmetic(x, grad_output, alpha=1.0):
    """Blends both branches with 0/1 masks: exp(x) overflows to inf for large x and 0 * inf = NaN."""
    pos = (x > 0).to(x.dtype)
    return grad_output * (pos + (1 - pos) * alpha * torch.exp(x))


# ---------------------------------------------------------------- softmax

def softmax_naive(x, dim=-1):
    """exp(x) / sum(exp(x)) without subtracting the maximum: inf / inf = NaN for large x."""
    e = torch.exp(x)
    return e / e.sum(dim=dim, keepdim=True)


def softmax_ignores_dim(x, dim=-1):
    """Always normalises over the last axis, whatever `dim` says."""
    e = torch.exp(x - x.amax(dim=-1, keepdim=True))
    return e / e.sum(dim=-1, keepdim=True)


def softmax_global_sum(x, dim=-1):
    """Divides by the sum over the whole tensor instead of along `dim`."""
    e = torch.exp(x - x.max())
    return e / e.sum()


def softmax_no_keepdim(x, dim=-1):
    """max and sum without keepdim=True: the reduced vector broadcasts along the wrong axis."""
    e = torch.exp(x - x.amax(dim=dim))
    return e / e.sum(dim=dim)
