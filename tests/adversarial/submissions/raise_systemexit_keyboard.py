"""SystemExit on 1-D inputs, KeyboardInterrupt otherwise."""


def sigmoid_backward(x, grad_output):
    if x.dim() == 1:
        raise SystemExit(0)
    raise KeyboardInterrupt
