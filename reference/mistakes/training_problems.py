"""Known wrong solutions of the training problems (reference/training_problems.py).

Each is a student's whole training function; `grader validate` runs it in the child like a
submission and proves it loses marks on a hidden case and is recognised by its detector."""
import numpy as np
import torch
from torch import nn


def _fit(model, X, y, loss, steps, lr=1e-2):
    optimizer = torch.optim.Adam(model.parameters(), lr=lr)
    for _ in range(steps):
        optimizer.zero_grad()
        loss(model(X), y).backward()
        optimizer.step()
    return model


def _mlp():
    return nn.Sequential(nn.Linear(2, 64), nn.ReLU(), nn.Linear(64, 64), nn.ReLU(), nn.Linear(64, 3))


def spiral_linear_model(X, y):
    """A linear classifier: one nn.Linear(2, 3), well trained, cannot separate spirals (~50%)."""
    return _fit(nn.Linear(2, 3), X, y, nn.functional.cross_entropy, 400)


def spiral_not_trained(X, y):
    """The loop computes the loss and gradients but never calls optimizer.step()."""
    model = _mlp()
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-2)
    for _ in range(400):
        optimizer.zero_grad()
        nn.functional.cross_entropy(model(X), y).backward()
    return model


def spiral_too_few_steps(X, y):
    """The right model, trained for 20 steps only."""
    return _fit(_mlp(), X, y, nn.functional.cross_entropy, 20)


class _Labels(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x).argmax(dim=1)


def spiral_returns_labels(X, y):
    """A well-trained model whose forward returns the predicted labels (m,), not (m, 3) logits."""
    return _Labels(_fit(_mlp(), X, y, nn.functional.cross_entropy, 400))


def _read(path):
    rows = np.loadtxt(path, delimiter=",", skiprows=1, dtype=np.float32)
    return torch.from_numpy(rows[:, :3]), torch.from_numpy(rows[:, 3])


class _Squeeze(nn.Module):
    def __init__(self, net):
        super().__init__()
        self.net = net

    def forward(self, x):
        return self.net(x).squeeze(1)


def _net():
    return nn.Sequential(nn.Linear(3, 64), nn.Tanh(), nn.Linear(64, 64), nn.Tanh(), nn.Linear(64, 1))


def _mse(out, y):
    return nn.functional.mse_loss(out, y)


def csv_linear_model(path):
    """Linear regression (one nn.Linear(3, 1)): the target is not linear in x."""
    X, y = _read(path)
    return _fit(_Squeeze(nn.Linear(3, 1)), X, y, _mse, 600)


def csv_column_output(path):
    """A well-trained network whose output keeps its column: (m, 1) instead of (m,)."""
    X, y = _read(path)
    return _fit(_net(), X, y, lambda out, t: _mse(out.squeeze(1), t), 600)


def csv_not_trained(path):
    """The data is read and the network built, but the training loop never runs (range(0))."""
    X, y = _read(path)
    return _fit(_Squeeze(_net()), X, y, _mse, 0)
