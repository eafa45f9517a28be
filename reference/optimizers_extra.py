"""More optimizer update rules and learning-rate schedules (course notes 003, 004; CS231n)."""
import math

import torch


def sgd_momentum_step(param, grad, velocity, lr=0.01, momentum=0.9):
    """One step of SGD with momentum in PyTorch's form (torch.optim.SGD, dampening 0, no Nesterov).

    v     = mu * v + g
    param = param - lr * v
    (Notes 004 write the CS231n form v = mu v - lr g; param = param + v. It takes the same steps
    when lr is constant, but its velocity is -lr times this one.)
    Returns (new_param, new_velocity).
    """
    velocity = momentum * velocity + grad
    param = param - lr * velocity
    return param, velocity


def adagrad_step(param, grad, cache, lr=0.01, eps=1e-7):
    """One AdaGrad step (Duchi et al. 2011), as in the notes 004 snippet.

    cache = cache + g^2                          sum of all squared gradients so far
    param = param - lr * g / (sqrt(cache) + eps) eps after the square root
    Returns (new_param, new_cache).
    """
    cache = cache + grad * grad
    param = param - lr * grad / (torch.sqrt(cache) + eps)
    return param, cache


def rmsprop_step(param, grad, cache, lr=0.01, decay_rate=0.99, eps=1e-7):
    """One RMSprop step (Tieleman & Hinton 2012), as in the notes 004 snippet.

    cache = decay_rate * cache + (1 - decay_rate) * g^2   leaky average of squared gradients
    param = param - lr * g / (sqrt(cache) + eps)           eps after the square root
    Returns (new_param, new_cache).
    """
    cache = decay_rate * cache + (1 - decay_rate) * grad * grad
    param = param - lr * grad / (torch.sqrt(cache) + eps)
    return param, cache


def lr_at(step, kind, lr0, gamma=0.5, step_size=10, k=0.01, warmup_steps=0, total_steps=100):
    """Learning rate at `step` (counting from 0) for the schedules of notes 003 / CS231n.

    "step":        lr0 * gamma ** floor(step / step_size)          (torch StepLR)
    "exponential": lr0 * exp(-k * step)
    "inverse":     lr0 / (1 + k * step)                             (1/t decay)
    "linear":      linear warm-up from 0 over warmup_steps, then linear decay to 0 at total_steps:
                   lr0 * step / warmup_steps                        if step < warmup_steps
                   lr0 * max(0, total_steps - step) / (total_steps - warmup_steps)   otherwise
    Returns a Python float.
    """
    if kind == "step":
        return lr0 * gamma ** (step // step_size)
    if kind == "exponential":
        return lr0 * math.exp(-k * step)
    if kind == "inverse":
        return lr0 / (1 + k * step)
    if kind == "linear":
        if step < warmup_steps:
            return lr0 * step / warmup_steps
        return lr0 * max(0, total_steps - step) / (total_steps - warmup_steps)
    raise ValueError(f"unknown schedule kind {kind!r}")
