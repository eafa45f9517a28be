"""Wrong initialisations students write (several straight from the course notes)."""
import math

import torch


def xavier_half_variance(fan_in, fan_out):
    """Notes 002's code: divides by sqrt(fan_in + fan_out), i.e. variance 1 / (fan_in + fan_out)."""
    return torch.randn(fan_out, fan_in) / math.sqrt(fan_in + fan_out)


def lecun(fan_in, fan_out):
    """Notes 004 call this Xavier: variance 1 / fan_in (LeCun init)."""
    return torch.randn(fan_out, fan_in) / math.sqrt(fan_in)


def xavier_std_as_variance(fan_in, fan_out):
    """Uses 2 / (fan_in + fan_out) as the standard deviation instead of the variance."""
    return torch.randn(fan_out, fan_in) * (2.0 / (fan_in + fan_out))


def xavier_uniform(fan_in, fan_out):
    """Glorot uniform: the right variance, but uniform on [-a, a], a = sqrt(6 / (fan_in + fan_out))."""
    a = math.sqrt(6.0 / (fan_in + fan_out))
    return (torch.rand(fan_out, fan_in) * 2 - 1) * a


def xavier_transposed(fan_in, fan_out):
    """Right law, wrong layout: (fan_in, fan_out)."""
    return torch.randn(fan_in, fan_out) * math.sqrt(2.0 / (fan_in + fan_out))


def he_xavier_variance(fan_in, fan_out):
    """Xavier's variance 2 / (fan_in + fan_out) where He asks for 2 / fan_in."""
    return torch.randn(fan_out, fan_in) * math.sqrt(2.0 / (fan_in + fan_out))


def he_fan_out(fan_in, fan_out):
    """fan_out mode: variance 2 / fan_out."""
    return torch.randn(fan_out, fan_in) * math.sqrt(2.0 / fan_out)


def he_std_as_variance(fan_in, fan_out):
    """Uses 2 / fan_in as the standard deviation instead of the variance."""
    return torch.randn(fan_out, fan_in) * (2.0 / fan_in)
