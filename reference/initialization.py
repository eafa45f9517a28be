"""Weight initialisation: Xavier/Glorot and He/Kaiming, normal versions (course notes 002, 004).

Weights are laid out like torch.nn.Linear.weight: (fan_out, fan_in).
"""
import math

import torch


def xavier_normal(fan_in, fan_out):
    """Xavier/Glorot normal (Glorot & Bengio 2010): W ~ N(0, 2 / (fan_in + fan_out)).

    The variance is 2 / (fan_in + fan_out), so the std is sqrt(2 / (fan_in + fan_out)).
    Returns a float32 tensor of shape (fan_out, fan_in).
    """
    std = math.sqrt(2.0 / (fan_in + fan_out))
    return torch.randn(fan_out, fan_in) * std


def he_normal(fan_in, fan_out):
    """He/Kaiming normal for ReLU layers (He et al. 2015), fan_in mode: W ~ N(0, 2 / fan_in).

    Returns a float32 tensor of shape (fan_out, fan_in).
    """
    std = math.sqrt(2.0 / fan_in)
    return torch.randn(fan_out, fan_in) * std
