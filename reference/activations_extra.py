"""More activations: tanh, ReLU, Leaky ReLU and ELU backward, and a stable softmax (notes 000, 002).

Each backward takes the forward input `x` and the upstream gradient `grad_output` = dL/dy and
returns dL/dx = grad_output * dy/dx (chain rule), elementwise.
"""
import torch


def tanh_backward(x, grad_output):
    """Backward pass of y = tanh(x).

    dy/dx = 1 - tanh(x)^2          (notes 002: 1 - tanh^2(z) = 1 - h^2)
    dL/dx = grad_output * (1 - tanh(x)^2)
    """
    t = torch.tanh(x)
    return grad_output * (1 - t * t)


def relu_backward(x, grad_output):
    """Backward pass of y = relu(x) = max(0, x).

    dy/dx = 1 if x > 0 else 0      (0 at x = 0, as PyTorch; notes 000 write x >= 0)
    dL/dx = grad_output * dy/dx
    """
    return grad_output * (x > 0)


def leaky_relu_backward(x, grad_output, negative_slope=0.01):
    """Backward pass of y = x if x > 0 else negative_slope * x.

    dy/dx = 1 if x > 0 else negative_slope    (negative_slope at x = 0, as PyTorch)
    """
    local = torch.where(x > 0, 1.0, negative_slope).to(x.dtype)
    return grad_output * local


def elu_backward(x, grad_output, alpha=1.0):
    """Backward pass of y = x if x > 0 else alpha * (exp(x) - 1).

    dy/dx = 1 if x > 0 else alpha * exp(x)    (alpha at x = 0, as PyTorch)
    Only the branch that applies is evaluated: exp of a large positive x would overflow.
    """
    negative = alpha * torch.exp(torch.clamp(x, max=0))    # exp only of x <= 0, never overflows
    return grad_output * torch.where(x > 0, torch.ones_like(x), negative)


def softmax(x, dim=-1):
    """Numerically stable softmax along `dim`.

    softmax(x)_i = exp(x_i - m) / sum_j exp(x_j - m),  m = max_j x_j
    Subtracting the maximum changes nothing mathematically (it cancels) but keeps exp <= 1.
    """
    m = x.amax(dim=dim, keepdim=True)
    e = torch.exp(x - m)
    return e / e.sum(dim=dim, keepdim=True)
