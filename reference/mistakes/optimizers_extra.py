"""Wrong momentum, AdaGrad and RMSprop steps and learning-rate schedules students write."""
import torch

from ..optimizers_extra import lr_at as _lr_at  # the right schedule, for the kinds a mistake leaves alone


# ---- SGD with momentum (PyTorch form: v = mu v + g; p = p - lr v)

def sgd_momentum_cs231n_form(param, grad, velocity, lr=0.01, momentum=0.9):
    """The CS231n / notes 004 form v = mu v - lr g; p = p + v (its velocity is -lr times ours)."""
    velocity = momentum * velocity - lr * grad
    return param + velocity, velocity


def sgd_momentum_param_before_velocity(param, grad, velocity, lr=0.01, momentum=0.9):
    """Moves the parameter with the old velocity, then updates the velocity."""
    param = param - lr * velocity
    velocity = momentum * velocity + grad
    return param, velocity


def sgd_momentum_dampened(param, grad, velocity, lr=0.01, momentum=0.9):
    """An exponential moving average v = mu v + (1 - mu) g (dampening = momentum)."""
    velocity = momentum * velocity + (1 - momentum) * grad
    return param - lr * velocity, velocity


def sgd_momentum_ascent(param, grad, velocity, lr=0.01, momentum=0.9):
    """Adds the step instead of subtracting it (gradient ascent)."""
    velocity = momentum * velocity + grad
    return param + lr * velocity, velocity


# ---- AdaGrad

def adagrad_missing_sqrt(param, grad, cache, lr=0.01, eps=1e-7):
    """Divides by cache + eps instead of sqrt(cache) + eps."""
    cache = cache + grad * grad
    return param - lr * grad / (cache + eps), cache


def adagrad_leaky_cache(param, grad, cache, lr=0.01, eps=1e-7):
    """The RMSprop branch of the notes' snippet: a decaying average with decay rate 0.99."""
    cache = 0.99 * cache + 0.01 * grad * grad
    return param - lr * grad / (torch.sqrt(cache) + eps), cache


def adagrad_eps_inside_sqrt(param, grad, cache, lr=0.01, eps=1e-7):
    """sqrt(cache + eps) instead of sqrt(cache) + eps."""
    cache = cache + grad * grad
    return param - lr * grad / torch.sqrt(cache + eps), cache


def adagrad_stale_cache(param, grad, cache, lr=0.01, eps=1e-7):
    """Divides by the old cache, before adding this step's g^2."""
    new_cache = cache + grad * grad
    return param - lr * grad / (torch.sqrt(cache) + eps), new_cache


# ---- RMSprop

def rmsprop_adagrad_cache(param, grad, cache, lr=0.01, decay_rate=0.99, eps=1e-7):
    """The AdaGrad branch: cache += g^2, no decay."""
    cache = cache + grad * grad
    return param - lr * grad / (torch.sqrt(cache) + eps), cache


def rmsprop_decay_swapped(param, grad, cache, lr=0.01, decay_rate=0.99, eps=1e-7):
    """(1 - rho) on the old cache and rho on g^2."""
    cache = (1 - decay_rate) * cache + decay_rate * grad * grad
    return param - lr * grad / (torch.sqrt(cache) + eps), cache


def rmsprop_eps_inside_sqrt(param, grad, cache, lr=0.01, decay_rate=0.99, eps=1e-7):
    """sqrt(cache + eps) instead of sqrt(cache) + eps."""
    cache = decay_rate * cache + (1 - decay_rate) * grad * grad
    return param - lr * grad / torch.sqrt(cache + eps), cache


def rmsprop_missing_sqrt(param, grad, cache, lr=0.01, decay_rate=0.99, eps=1e-7):
    """Divides by cache + eps instead of sqrt(cache) + eps."""
    cache = decay_rate * cache + (1 - decay_rate) * grad * grad
    return param - lr * grad / (cache + eps), cache


# ---- learning-rate schedules

def lr_at_step_not_floored(step, kind, lr0, gamma=0.5, step_size=10, k=0.01, warmup_steps=0, total_steps=100):
    """Step decay with a fractional exponent gamma ** (step / step_size): a smooth decay, not steps."""
    if kind == "step":
        return lr0 * gamma ** (step / step_size)
    return _lr_at(step, kind, lr0, gamma, step_size, k, warmup_steps, total_steps)


def lr_at_warmup_off_by_one(step, kind, lr0, gamma=0.5, step_size=10, k=0.01, warmup_steps=0, total_steps=100):
    """Warm-up from (step + 1) / warmup_steps: the first step already has a non-zero rate."""
    if kind == "linear" and step < warmup_steps:
        return lr0 * (step + 1) / warmup_steps
    return _lr_at(step, kind, lr0, gamma, step_size, k, warmup_steps, total_steps)


def lr_at_decay_ignores_warmup(step, kind, lr0, gamma=0.5, step_size=10, k=0.01, warmup_steps=0, total_steps=100):
    """After the warm-up, decays as lr0 * (1 - step / total_steps), which jumps down at the end of warm-up."""
    if kind == "linear" and step >= warmup_steps:
        return lr0 * max(0.0, 1 - step / total_steps)
    return _lr_at(step, kind, lr0, gamma, step_size, k, warmup_steps, total_steps)


def lr_at_tensor(step, kind, lr0, gamma=0.5, step_size=10, k=0.01, warmup_steps=0, total_steps=100):
    """Right values computed with torch, returned as a 0-d tensor instead of a Python float."""
    return torch.tensor(_lr_at(step, kind, lr0, gamma, step_size, k, warmup_steps, total_steps))
