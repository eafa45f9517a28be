"""Right answers, but on the 1-D cases the case frame claims an impossible time: the child's own
encoder is patched so the header says "seconds": 1e400 (which JSON reads as infinity) and, in a
second field, an integer too large for a float. Only those cases may be lost, as unreadable results."""
import torch

from grader.sandbox import codec

_encode = codec.encode


def forged_encode(value, *, header=None):
    header = dict(header or {})
    if header.get("type") != "case" or not (isinstance(value, torch.Tensor) and value.dim() == 1):
        return _encode(value, header=header)
    header["seconds"] = 0.00125  # a sentinel as long as its replacement, so the header length holds
    header["timing"] = {"best": 10 ** 400, "median": 1.0, "runs": 1}
    return _encode(value, header=header).replace(b'"seconds":0.00125', b'"seconds":1.0e400')


codec.encode = forged_encode


def sigmoid_backward(x, grad_output):
    s = torch.sigmoid(x)
    return grad_output * s * (1 - s)
