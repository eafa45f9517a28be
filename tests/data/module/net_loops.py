import numpy as np


class TwoLayerNet:
    def __init__(self, input_dim, hidden_dim, num_classes, weight_scale=1e-3, reg=0.0):
        self.reg = reg
        self.params = {"b2": np.zeros(num_classes), "W2": weight_scale * np.random.randn(hidden_dim, num_classes),
                       "b1": np.zeros(hidden_dim), "W1": weight_scale * np.random.randn(input_dim, hidden_dim)}

    def loss(self, X, y=None):
        p = self.params
        hidden = np.maximum(0, X @ p["W1"] + p["b1"])
        scores = hidden @ p["W2"] + p["b2"]
        if y is None:
            return scores
        N = len(X)
        loss = 0.0
        dscores = np.zeros_like(scores)
        for i in range(N):   # one sample at a time
            row = np.exp(scores[i] - np.max(scores[i]))
            row /= row.sum()
            loss += -np.log(row[y[i]]) / N
            row[y[i]] -= 1
            dscores[i] = row / N
        loss += 0.5 * self.reg * ((p["W1"] ** 2).sum() + (p["W2"] ** 2).sum())
        dhidden = dscores @ p["W2"].T
        dhidden[hidden == 0] = 0
        return loss, {"W1": X.T @ dhidden + self.reg * p["W1"], "b1": dhidden.sum(0),
                      "W2": hidden.T @ dscores + self.reg * p["W2"], "b2": dscores.sum(0)}
