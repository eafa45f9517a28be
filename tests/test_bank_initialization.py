"""xavier-init and he-init: any random stream with the right law passes; wrong laws are named."""
from __future__ import annotations

XAVIER_RANDN = """
import math
import torch

def xavier_normal(fan_in, fan_out):
    return torch.randn(fan_out, fan_in) * math.sqrt(2.0 / (fan_in + fan_out))
"""

XAVIER_NORMAL_ = """
import torch

def xavier_normal(fan_in, fan_out):
    w = torch.empty(fan_out, fan_in)
    std = (2.0 / (fan_in + fan_out)) ** 0.5
    return w.normal_(0.0, std)
"""

XAVIER_NOTES_002 = """
import math
import torch

def xavier_normal(fan_in, fan_out):
    return torch.randn(fan_out, fan_in) / math.sqrt(fan_in + fan_out)
"""

XAVIER_UNIFORM = """
import math
import torch

def xavier_normal(fan_in, fan_out):
    a = math.sqrt(6.0 / (fan_in + fan_out))
    return torch.empty(fan_out, fan_in).uniform_(-a, a)
"""

HE_FAN_OUT = """
import math
import torch

def he_normal(fan_in, fan_out):
    return torch.randn(fan_out, fan_in) * math.sqrt(2.0 / fan_out)
"""

HE_NORMAL = """
import torch

def he_normal(fan_in, fan_out):
    return torch.normal(0.0, (2.0 / fan_in) ** 0.5, size=(fan_out, fan_in))
"""


def mistakes(result):
    return {t.mistake for t in result.tests if t.mistake}


def test_xavier_correct_formulations_pass(grade_source):
    for source in (XAVIER_RANDN, XAVIER_NORMAL_):
        result = grade_source("xavier-init", source)
        assert result.passed, [t.output for t in result.tests if not t.passed]


def test_xavier_notes_mistakes_are_named(grade_source):
    result = grade_source("xavier-init", XAVIER_NOTES_002)
    assert mistakes(result) == {"half-variance"}
    assert any("variance" in t.output for t in result.tests if not t.passed)
    result = grade_source("xavier-init", XAVIER_UNIFORM)
    assert mistakes(result) == {"uniform"}
    assert any("kurtosis" in t.output for t in result.tests if not t.passed)


def test_he_passes_and_fan_out_mode_is_named(grade_source):
    result = grade_source("he-init", HE_NORMAL)
    assert result.passed, [t.output for t in result.tests if not t.passed]
    assert "fan-out-mode" in mistakes(grade_source("he-init", HE_FAN_OUT))
