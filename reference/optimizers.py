"""Optimizer update rules (course notes 003, 004)."""


def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
    """One Adam step (Kingma & Ba 2015), as torch.optim.Adam computes it.

    m_t = beta1 * m + (1 - beta1) * g              first moment
    v_t = beta2 * v + (1 - beta2) * g^2            second moment
    m_hat = m_t / (1 - beta1^t)                    bias corrections, t counts from 1
    v_hat = v_t / (1 - beta2^t)
    param_t = param - lr * m_hat / (sqrt(v_hat) + eps)   eps after the square root
    """
    m = beta1 * m + (1 - beta1) * grad
    v = beta2 * v + (1 - beta2) * grad * grad
    m_hat = m / (1 - beta1 ** t)
    v_hat = v / (1 - beta2 ** t)
    param = param - lr * m_hat / (v_hat.sqrt() + eps)
    return param, m, v


