"""Wrong sigmoid backward passes students write."""
import torch


def sigmoid_backward_no_upstream(x, grad_output):
    """Local derivative only: forgets to multiply by the upstream gradient."""
    s = torch.sigmoid(x)
    return s * (1 - s)


def sigmoid_backward_uses_x(x, grad_output):
    """Uses x where sigmoid(x) belongs: x * (1 - x)."""
    return grad_output * x * (1 - x)


def sigmoid_backward_tanh_derivative(x, grad_output):
    """The tanh derivative 1 - s^2 instead of s (1 - s)."""
    s = torch.sigmoid(x)
    return grad_output * (1 - s * s)


def sigmoid_backward_float64(x, grad_output):
    """Right values, but computed and returned in float64 whatever the input dtype."""
    s = torch.sigmoid(x.double())
    return grad_output.double() * s * (1 - s)
