"""Issue 12: correct real-world code gets full marks; wrong code is named even when it is wrong
in more than one way. Every test grades student-like files through the real CLI (the code runs
in a sandboxed child), except the few that check a spec rule or a comparison helper directly."""
import shutil
import textwrap
from pathlib import Path

import numpy as np
import pytest

from conftest import ROOT

FORMS = Path(__file__).parent / "formulations"


def check(cli, submission, problem, source, *extra):
    result = cli("check", problem, submission(source), "--json", *extra)
    assert result.exit_code in (0, 1), result.output
    return result.json()


def failed(data):
    return {t["name"]: t["output"] for t in data["tests"] if t["status"] != "passed"}


# ---------------------------------------------------------------- numbers and dtypes

def test_numpy_float32_loss_gets_full_marks(cli, submission):
    data = check(cli, submission, "softmax-loss", """
        import numpy as np

        def softmax_loss(x, y):
            N = x.shape[0]
            shifted = x - x.max(axis=1, keepdims=True)
            log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
            loss = np.float32(-log_probs[np.arange(N), y].mean())   # a NumPy scalar, not a float
            dx = np.exp(log_probs)
            dx[np.arange(N), y] -= 1
            return loss, dx / N
        """)
    assert data["score"] == data["max_score"], failed(data)


def test_zero_dim_array_and_numpy_int_are_numbers(cli, submission):
    data = check(cli, submission, "conv-output-size", """
        import numpy as np

        def conv_output_size(n, f, p=0, s=1):
            return np.array((n - f + 2 * p) // s + 1)   # a 0-d int array
        """)
    assert data["score"] == data["max_score"], failed(data)


def test_a_float_is_still_not_an_int(cli, submission):
    data = check(cli, submission, "conv-output-size", """
        import numpy as np

        def conv_output_size(n, f, p=0, s=1):
            return np.float32((n - f + 2 * p) // s + 1)
        """)
    assert data["score"] == 0
    assert "should be an int" in data["tests"][0]["output"]


def test_where_the_statement_asks_for_floats_a_tensor_is_still_the_named_mistake(cli, submission):
    data = check(cli, submission, "precision-recall-f1", """
        import torch

        def precision_recall_f1(predictions, labels):
            tp = ((predictions == 1) & (labels == 1)).sum().double()
            fp = ((predictions == 1) & (labels == 0)).sum().double()
            fn = ((predictions == 0) & (labels == 1)).sum().double()
            p = tp / (tp + fp) if tp + fp > 0 else torch.tensor(0.0, dtype=torch.float64)
            r = tp / (tp + fn) if tp + fn > 0 else torch.tensor(0.0, dtype=torch.float64)
            f = 2 * p * r / (p + r) if p + r > 0 else torch.tensor(0.0, dtype=torch.float64)
            return p, r, f
        """)
    assert data["score"] < data["max_score"]
    assert "tensors-not-floats" in {t["mistake"] for t in data["tests"]}


FLOAT64_RELU = """
    import numpy as np

    def relu_forward(x):
        out = np.zeros(x.shape)          # float64, whatever x is
        out[x > 0] = x[x > 0]
        return out
    """


def test_float64_numpy_code_passes_the_value_cases_and_fails_only_keeps_dtype(cli, submission):
    data = check(cli, submission, "relu-forward-numpy", FLOAT64_RELU)
    bad = failed(data)
    assert list(bad) == ["keeps dtype"], bad
    message = bad["keeps dtype"]
    assert "has dtype float64, expected float32" in message
    assert "out.astype(x.dtype)" in message
    assert "float64-output" in message  # the listed mistake is still named
    dtype_test = next(t for t in data["tests"] if t["name"] == "keeps dtype")
    assert dtype_test["mistake"] == "float64-output"
    assert 0 < dtype_test["max_score"] < min(t["max_score"] for t in data["tests"] if t["name"] != "keeps dtype")


def test_float64_numpy_code_gets_full_marks_where_the_statement_does_not_ask_for_the_dtype(cli, submission):
    """NumPy courses work in float64: a NumPy problem grades the dtype only when its spec says so."""
    data = check(cli, submission, "relu-backward-numpy", """
        import numpy as np

        def relu_backward(dout, x):
            dx = np.zeros(x.shape)           # float64, also for the float32 case
            dx[x > 0] = dout[x > 0]
            return dx
        """)
    assert data["score"] == data["max_score"], failed(data)
    assert "keeps dtype" not in [t["name"] for t in data["tests"]]


def test_torch_code_in_another_precision_is_told_to_cast_with_to(cli, submission):
    data = check(cli, submission, "sigmoid-backward", """
        import torch

        def sigmoid_backward(x, grad_output):
            s = torch.sigmoid(x.float())           # float32 for the 16-bit and float64 cases
            return grad_output.float() * s * (1 - s)
        """, "--device", "cpu")
    bad = failed(data)
    assert list(bad) == ["keeps dtype"], bad
    assert ".to(x.dtype)" in bad["keeps dtype"]
    assert "float16" in bad["keeps dtype"] or "bfloat16" in bad["keeps dtype"] or "float64" in bad["keeps dtype"]


def _bank_with(tmp_path, problem_file: str, edit) -> Path:
    """A copy of the bundled bank's references with one spec edited: a course's own policy."""
    bank = tmp_path / "bank"
    shutil.copytree(ROOT / "reference", bank / "reference")
    source = ROOT / "problems" / problem_file
    target = bank / "problems" / problem_file
    target.parent.mkdir(parents=True)
    target.write_text(edit(source.read_text(encoding="utf-8")), encoding="utf-8")
    return bank


@pytest.mark.parametrize("policy, score_is_full, failing", [
    ("ignore", True, []),
    ("strict", False, ["float32", "float32-image"]),
])
def test_the_dtype_policy_is_the_problems_own(tmp_path, cli, submission, policy, score_is_full, failing):
    bank = _bank_with(tmp_path, "cs231n/relu-forward-numpy.yaml",
                      lambda text: text.replace("\nhints:\n", f"\nstrictness: {{dtype: {policy}}}\nhints:\n", 1))
    result = cli("--bank", bank, "check", "relu-forward-numpy", submission(FLOAT64_RELU), "--json")
    data = result.json()
    assert (data["score"] == data["max_score"]) is score_is_full, failed(data)
    assert "keeps dtype" not in {t["name"] for t in data["tests"]}
    bad = failed(data)
    assert sorted(bad) == sorted(n for n in bad if n in failing) and len(bad) == len(failing), bad
    for name in failing:
        assert "has dtype float64, expected float32" in bad[name]


def test_show_states_the_policy(cli):
    result = cli("show", "relu-backward-numpy")
    assert result.exit_code == 0
    assert "How answers are checked" in result.output
    assert "leaves inputs unchanged" in result.output
    assert "the dtype is not graded" in result.output  # a NumPy problem's default
    assert "0-d tensor" in result.output
    assert "keeps dtype" in cli("show", "affine-forward").output  # its statement asks for x's dtype
    lr = cli("show", "lr-schedule")
    assert "not a tensor" in lr.output


# ---------------------------------------------------------------- tolerances: every correct formulation

ADAM_FORMS = ["adam_step_efficient", "adam_step_torch_style", "adam_step_lerp"]


@pytest.mark.parametrize("form", ADAM_FORMS)
def test_adam_formulations_all_get_full_marks(cli, submission, form):
    import ast

    module = ast.parse((FORMS / "adam_step_forms.py").read_text(encoding="utf-8"))
    func = next(node for node in module.body if isinstance(node, ast.FunctionDef) and node.name == form)
    func.name = "adam_step"
    source = "import math\nimport torch\n\n\n" + ast.unparse(func) + "\n"
    for seed in ("0", "7"):
        data = check(cli, submission, "adam-step", source, "--seed", seed)
        assert data["score"] == data["max_score"], (seed, failed(data))


def _form_source(path: Path, form: str, entry_point: str, header: str) -> str:
    """One formulation from a tests/formulations file, renamed to the entry point."""
    import ast

    module = ast.parse(path.read_text(encoding="utf-8"))
    funcs = {node.name: node for node in module.body if isinstance(node, ast.FunctionDef)}
    funcs[form].name = entry_point
    helpers = [ast.unparse(f) for name, f in funcs.items() if name != form]
    return header + "\n\n" + "\n\n".join(helpers + [ast.unparse(funcs[form])]) + "\n"


@pytest.mark.parametrize("form", ["batchnorm_backward_graph", "batchnorm_backward_compact",
                                  "batchnorm_backward_einsum_loops"])
def test_batchnorm_backward_formulations_all_get_full_marks(cli, submission, form):
    source = _form_source(FORMS / "batchnorm_backward_forms.py", form, "batchnorm_backward", "import numpy as np")
    data = check(cli, submission, "batchnorm-backward-numpy", source, "--seed", "5")
    assert data["score"] == data["max_score"], failed(data)


def test_eps_inside_the_square_root_still_fails_adam(cli, submission):
    data = check(cli, submission, "adam-step", """
        import torch

        def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            m = beta1 * m + (1 - beta1) * grad
            v = beta2 * v + (1 - beta2) * grad ** 2
            m_hat, v_hat = m / (1 - beta1 ** t), v / (1 - beta2 ** t)
            return param - lr * m_hat / torch.sqrt(v_hat + eps), m, v
        """)
    names = {t["name"]: t["mistake"] for t in data["tests"] if t["status"] != "passed"}
    assert names.get("small-gradients") == "eps-inside-sqrt", failed(data)


# ---------------------------------------------------------------- cases within the statement

CS231N_CONV = """
    import numpy as np

    def conv_forward_naive(x, w, b, stride, pad):
        N, C, H, W = x.shape
        F, _, HH, WW = w.shape
        assert (H + 2 * pad - HH) % stride == 0, "width does not work"
        assert (W + 2 * pad - WW) % stride == 0, "height does not work"
        H_out = 1 + (H + 2 * pad - HH) // stride
        W_out = 1 + (W + 2 * pad - WW) // stride
        x_pad = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)), mode="constant")
        out = np.zeros((N, F, H_out, W_out), dtype=x.dtype)
        for n in range(N):
            for f in range(F):
                for i in range(H_out):
                    for j in range(W_out):
                        window = x_pad[n, :, i * stride:i * stride + HH, j * stride:j * stride + WW]
                        out[n, f, i, j] = np.sum(window * w[f]) + b[f]
        return out
    """

CS231N_POOL = """
    import numpy as np

    def max_pool_forward_naive(x, pool_height, pool_width, stride):
        N, C, H, W = x.shape
        assert (H - pool_height) % stride == 0, "Invalid height"
        assert (W - pool_width) % stride == 0, "Invalid width"
        H_out = 1 + (H - pool_height) // stride
        W_out = 1 + (W - pool_width) // stride
        out = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
        for i in range(H_out):
            for j in range(W_out):
                window = x[:, :, i * stride:i * stride + pool_height, j * stride:j * stride + pool_width]
                out[:, :, i, j] = window.max(axis=(2, 3))
        return out
    """


@pytest.mark.parametrize("problem, source", [("conv-forward-naive", CS231N_CONV),
                                             ("max-pool-forward-naive", CS231N_POOL)])
def test_cs231n_code_that_asserts_divisibility_gets_full_marks(cli, submission, problem, source):
    for seed in ("0", "3"):
        data = check(cli, submission, problem, source, "--seed", seed)
        assert data["score"] == data["max_score"], failed(data)


def test_validate_flags_a_case_that_breaks_a_stated_assumption(tmp_path, cli):
    def add_bad_case(text):
        return text.replace("\ncases:\n", textwrap.dedent("""
            cases:
              - name: odd-size
                description: 6x6 images, 3x3 filters, stride 2, pad 1
                sizes: {N: 1, C: 1, H: 6, W: 6, F: 1}
                inputs:
                  stride: 2
            """).rstrip("\n").replace("\ncases:", "\ncases:", 1) + "\n", 1)

    bank = _bank_with(tmp_path, "cs231n/conv-forward-naive.yaml", add_bad_case)
    result = cli("--bank", bank, "validate", bank / "problems" / "cs231n" / "conv-forward-naive.yaml")
    assert result.exit_code == 1, result.output
    assert "odd-size" in result.output and "the stride divides exactly" in result.output
    assert "H=6" in result.output and "stride=2" in result.output


def test_a_malformed_assumption_is_a_spec_error_naming_the_field(tmp_path, cli):
    bank = _bank_with(tmp_path, "cs231n/conv-forward-naive.yaml",
                      lambda text: text.replace("  - check: (H + 2 * pad", "  - check: __import__('os') or (H + 2 * pad", 1))
    result = cli("--bank", bank, "validate", bank / "problems" / "cs231n" / "conv-forward-naive.yaml")
    assert result.exit_code == 2, result.output
    assert "$.assumptions[0].check" in result.output + result.stderr


# ---------------------------------------------------------------- hints and findings

def test_a_layer_that_returns_out_and_cache_gets_a_hint(cli, submission):
    data = check(cli, submission, "affine-forward", """
        import numpy as np

        def affine_forward(x, w, b):
            out = x.reshape(x.shape[0], -1) @ w + b
            cache = (x, w, b)
            return out, cache
        """)
    assert data["score"] == 0
    first = data["tests"][0]["output"]
    assert "(out, cache)" in first and "Return only the output" in first


def test_a_keepdims_slip_gets_a_hint(cli, submission):
    data = check(cli, submission, "distribution-entropy", """
        import torch

        def entropy(p):
            return -torch.special.xlogy(p, p).sum(dim=-1, keepdim=True)
        """)
    outputs = [t["output"] for t in data["tests"] if t["status"] != "passed"]
    assert outputs and any("keepdims=True" in o and "squeeze" in o for o in outputs), outputs


def test_python2_division_gets_a_hint(cli, submission):
    data = check(cli, submission, "max-pool-forward-naive", """
        import numpy as np

        def max_pool_forward_naive(x, pool_height, pool_width, stride):
            N, C, H, W = x.shape
            H_out = 1 + (H - pool_height) / stride        # Python 2 habit: / for ints
            W_out = 1 + (W - pool_width) / stride
            out = np.zeros((N, C, H_out, W_out), dtype=x.dtype)
            for i in range(H_out):
                for j in range(W_out):
                    window = x[:, :, i * stride:i * stride + pool_height, j * stride:j * stride + pool_width]
                    out[:, :, i, j] = window.max(axis=(2, 3))
            return out
        """)
    assert data["score"] == 0
    output = data["tests"][0]["output"]
    assert "Hint:" in output and "//" in output, output


def test_mutating_an_input_is_a_named_finding(cli, submission):
    data = check(cli, submission, "relu-backward-numpy", """
        def relu_backward(dout, x):
            dx = dout                 # not a copy: the next line writes into the caller's dout
            dx[x <= 0] = 0
            return dx
        """)
    bad = failed(data)
    assert list(bad) == ["leaves inputs unchanged"], bad
    assert "'dout'" in bad["leaves inputs unchanged"] and "copy()" in bad["leaves inputs unchanged"]


def test_the_correct_copy_passes_leaves_inputs_unchanged(cli, submission):
    data = check(cli, submission, "relu-backward-numpy", """
        import numpy as np

        def relu_backward(dout, x):
            return np.where(x > 0, dout, 0).astype(dout.dtype)
        """)
    assert data["score"] == data["max_score"], failed(data)


def test_a_stub_scores_nothing_from_the_policy_tests(cli, submission):
    data = check(cli, submission, "relu-backward-numpy", """
        def relu_backward(dout, x):
            raise NotImplementedError
        """)
    assert data["score"] == 0
    assert "leaves inputs unchanged" in failed(data) and "keeps dtype" not in failed(data)  # NumPy: dtype not graded


# ---------------------------------------------------------------- mistake matching

def test_inf_where_the_mistake_gives_nan_is_still_named(cli, submission):
    data = check(cli, submission, "softmax-loss", """
        import numpy as np

        def softmax_loss(x, y):
            N = x.shape[0]
            e = np.exp(x)                                              # no max shift
            loss = np.mean(np.log(e.sum(axis=1)) - x[np.arange(N), y])  # log(inf) = inf, not NaN
            p = e / e.sum(axis=1, keepdims=True)
            p[np.arange(N), y] -= 1
            return float(loss), p / N
        """)
    named = {t["name"]: t["mistake"] for t in data["tests"] if t["status"] != "passed"}
    assert named and set(named.values()) == {"no-max-shift"}, failed(data)


def test_two_mistakes_at_once_are_both_named(cli, submission):
    data = check(cli, submission, "adam-step", """
        def adam_step(param, grad, m, v, t, lr=1e-3, beta1=0.9, beta2=0.999, eps=1e-8):
            new_m = beta1 * m + (1 - beta1) * grad
            new_v = beta2 * v + (1 - beta2) * grad ** 2
            return param - lr * new_m / (new_v ** 0.5 + eps), m, v   # no bias correction, old moments
        """)
    named = {t["mistake"] for t in data["tests"] if t["status"] != "passed"}
    assert "no-bias-correction+old-moments-returned" in named, failed(data)
    text = " ".join(failed(data).values())
    assert "two known mistakes at once" in text and "bias correction" in text and "return the updated m and v" in text


def test_the_mistake_that_fits_the_most_cases_is_named_on_an_ambiguous_case(cli, submission):
    # On the visible case T = 1 the reversed polarity and the strict (diagonal-excluded) mask
    # give the same [[False]]; the hidden cases show which one this is.
    data = check(cli, submission, "causal-mask", """
        import torch

        def causal_mask(T):
            return torch.tril(torch.ones(T, T, dtype=torch.bool), diagonal=-1)
        """)
    named = {t["name"]: t["mistake"] for t in data["tests"] if t["status"] != "passed"}
    assert named.get("one") == "diagonal-excluded", named
    assert set(named.values()) == {"diagonal-excluded"}, named


def test_agreement_treats_any_two_non_finite_values_alike():
    from grader.compare import tensors as cmp

    got = cmp.agreement((np.array([np.inf, 1.0, 2.0]), 3.0), (np.array([np.nan, 1.0, 5.0]), 3.0))
    assert got.tolist() == [True, True, False, True]
    assert cmp.agreement(np.zeros(3), np.zeros(4)) is None
    assert cmp.compare(np.array([np.inf]), np.array([np.nan]), nonfinite_alike=True) is None
    assert cmp.compare(np.array([np.inf]), np.array([np.nan])) is not None


@pytest.mark.parametrize("actual, numbers, ok", [
    (np.float32(0.25), "numpy", True),
    (np.array(0.25), "numpy", True),
    (np.float32(0.25), "python", False),
    ("torch0d", "numpy", False),
    ("torch0d", "any", True),
    (1, "any", False),          # 1 is a number, but not 0.25
    (np.float32(0.2500001), "numpy", True),   # within float32's tolerance
])
def test_number_policies(actual, numbers, ok):
    import torch

    from grader.compare import tensors as cmp

    if actual == "torch0d":
        actual = torch.tensor(0.25)
    mismatch = cmp.compare(actual, 0.25, numbers=numbers)
    assert (mismatch is None) is ok, mismatch


def test_loose_dtypes_compare_at_the_coarser_precision():
    from grader.compare import tensors as cmp

    expected = np.array([1.0, 2.0], dtype=np.float32)
    close_in_float32 = np.array([1.0 + 1e-7, 2.0], dtype=np.float64)
    assert cmp.compare(close_in_float32, expected, dtypes="loose") is None
    assert cmp.compare(close_in_float32, expected).kind == "dtype"
    assert cmp.compare(np.array([1.1, 2.0]), expected, dtypes="loose").kind == "value"
    assert cmp.compare(np.array([1, 2]), expected, dtypes="loose").kind == "dtype"  # ints are not a precision
    assert cmp.dtype_differences((close_in_float32, 3), (expected, 3)) == (1, [("output[0]", "float64", "float32")])
