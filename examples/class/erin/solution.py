"""Erin: one correct answer, one that crashes, one that never returns."""
import torch


def sigmoid_backward(x, grad_output):
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)


def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    raise NotImplementedError("TODO")


def coin_entropy(p):
    while True:  # forgot the loop condition
        p = p * 1.0
