import textwrap

import pytest

from grader.problems.forbidden import DYNAMIC_CODE, ForbiddenUse, find_forbidden

AUTOGRAD = ["torch.autograd"]


def check(source, forbidden=AUTOGRAD):
    return find_forbidden(textwrap.dedent(source), forbidden, "solution.py")


def lines(uses):
    return [u.line for u in uses]


def names(uses):
    return [u.name for u in uses]


# ---------------------------------------------------------------- aliases


def test_plain_attribute_chain():
    uses = check(
        """\
        import torch

        def f(x, y):
            return torch.autograd.grad(y, x)
        """
    )
    assert len(uses) == 1
    (use,) = uses
    assert (use.api, use.name, use.line) == ("torch.autograd", "torch.autograd.grad", 4)


def test_import_as_alias():
    uses = check(
        """\
        import torch as T
        x = 1
        g = T.autograd.grad
        """
    )
    assert names(uses) == ["torch.autograd.grad"]
    assert lines(uses) == [3]


def test_import_submodule_is_a_use():
    uses = check("import torch.autograd\n")
    assert [(u.name, u.line) for u in uses] == [("torch.autograd", 1)]


def test_import_submodule_as_alias_and_its_uses():
    uses = check(
        """\
        import torch.autograd as ag
        ag.grad(1, 2)
        """
    )
    assert [(u.name, u.line) for u in uses] == [
        ("torch.autograd", 1),
        ("torch.autograd.grad", 2),
    ]


def test_from_import_with_asname():
    uses = check(
        """\
        from torch import autograd as ag

        def f(y, x):
            return ag.grad(y, x)
        """
    )
    assert [(u.name, u.line) for u in uses] == [
        ("torch.autograd", 1),
        ("torch.autograd.grad", 4),
    ]


def test_from_import_function_reported_at_import_and_use():
    uses = check(
        """\
        import torch
        from torch.autograd import grad

        def f(y, x):
            return grad(y, x)[0]
        """
    )
    assert [(u.name, u.line) for u in uses] == [
        ("torch.autograd.grad", 2),
        ("torch.autograd.grad", 5),
    ]
    assert all(u.api == "torch.autograd" for u in uses)


def test_multiline_from_import_reports_each_name_on_its_line():
    uses = check(
        """\
        from torch.autograd import (
            grad,
            backward,
        )
        """
    )
    assert [(u.name, u.line) for u in uses] == [
        ("torch.autograd.grad", 2),
        ("torch.autograd.backward", 3),
    ]


def test_functional_alias_from_import():
    sdpa = "torch.nn.functional.scaled_dot_product_attention"
    uses = check(
        """\
        import torch
        from torch.nn import functional as F

        def attn(q, k, v):
            return F.scaled_dot_product_attention(q, k, v)
        """,
        [sdpa],
    )
    assert [(u.api, u.name, u.line) for u in uses] == [(sdpa, sdpa, 5)]


def test_functional_import_as():
    sdpa = "torch.nn.functional.scaled_dot_product_attention"
    uses = check(
        """\
        import torch.nn.functional as F
        a = F.softmax(x, dim=-1)
        b = F.scaled_dot_product_attention(q, k, v)
        """,
        [sdpa],
    )
    assert [(u.name, u.line) for u in uses] == [(sdpa, 3)]


def test_star_import_resolves_bare_name():
    sdpa = "torch.nn.functional.scaled_dot_product_attention"
    uses = check(
        """\
        from torch.nn.functional import *
        y = softmax(x)
        z = scaled_dot_product_attention(q, k, v)
        """,
        [sdpa],
    )
    assert [(u.name, u.line) for u in uses] == [(sdpa, 3)]


def test_numpy_aliases():
    uses = check(
        """\
        import numpy as np
        from numpy import linalg
        a = np.linalg.inv(m)
        b = linalg.inv(m)
        c = np.linalg.solve(m, v)
        """,
        ["numpy.linalg.inv"],
    )
    assert [(u.name, u.line) for u in uses] == [
        ("numpy.linalg.inv", 3),
        ("numpy.linalg.inv", 4),
    ]


def test_assignment_alias():
    uses = check(
        """\
        import torch
        ag = torch.autograd
        ag.grad(y, x)
        """
    )
    assert [(u.name, u.line) for u in uses] == [
        ("torch.autograd", 2),
        ("torch.autograd.grad", 3),
    ]


def test_torch_func_does_not_match_torch_functional():
    uses = check(
        """\
        import torch
        a = torch.functional.einsum("ij->j", x)
        b = torch.func.grad(f)(x)
        """,
        ["torch.func"],
    )
    assert [(u.name, u.line) for u in uses] == [("torch.func.grad", 3)]


def test_relative_imports_ignored():
    assert check("from .torch import autograd\nautograd.grad(1, 2)\n") == []


def test_chain_reported_once():
    uses = check("import torch\ntorch.autograd.functional.jacobian(f, x)\n")
    assert names(uses) == ["torch.autograd.functional.jacobian"]


# ---------------------------------------------------------------- allowed code


def test_allowed_code_not_flagged():
    assert (
        check(
            """\
            import torch
            import torch.nn.functional as F

            def forward(x):
                return F.relu(torch.sigmoid(x)) + torch.tanh(x)
            """
        )
        == []
    )


def test_local_variable_named_autograd_not_flagged():
    assert (
        check(
            """\
            import torch

            def f(autograd):
                autograd = {"grad": 1}
                return autograd.grad, autograd["grad"]
            """
        )
        == []
    )


def test_strings_and_comments_not_flagged():
    assert (
        check(
            '''\
            """Do not use torch.autograd here; loss.backward() is forbidden."""
            import torch

            # torch.autograd.grad would be cheating
            MSG = "torch.autograd"
            y = x.backward_pass(1)
            ''',
            ["torch.autograd", "Tensor.backward"],
        )
        == []
    )


def test_attribute_backward_pass_is_not_backward():
    assert check("y = layer.backward_pass(g)\nz = layer.backwards\n", ["Tensor.backward"]) == []


def test_no_entries_means_nothing_reported():
    assert check("import torch\ntorch.autograd.grad(y, x)\neval('1')\n", []) == []


# ---------------------------------------------------------------- method entries


def test_method_entry_matches_any_receiver():
    uses = check(
        """\
        loss.backward()
        (x * y).sum().backward()
        f = y.backward
        """,
        ["Tensor.backward"],
    )
    assert lines(uses) == [1, 2, 3]
    assert all(u.api == "Tensor.backward" for u in uses)
    assert names(uses)[0] == "loss.backward"
    assert names(uses)[2] == "y.backward"


def test_method_entry_on_chained_call_reports_line_of_the_method():
    uses = check(
        """\
        loss = (
            model(x)
            .sum()
            .backward()
        )
        """,
        ["Tensor.backward"],
    )
    assert lines(uses) == [4]


def test_torch_tensor_backward_written_out():
    uses = check(
        "import torch as T\nT.Tensor.backward(loss)\n", ["Tensor.backward"]
    )
    assert [(u.name, u.line) for u in uses] == [("torch.Tensor.backward", 2)]


def test_fully_qualified_method_entry_is_a_method_entry():
    uses = check("loss.backward()\n", ["torch.Tensor.backward"])
    assert [(u.api, u.line) for u in uses] == [("torch.Tensor.backward", 1)]


def test_assigning_an_attribute_named_backward_is_not_a_use():
    assert check("self.backward = None\n", ["Tensor.backward"]) == []


def test_defining_a_backward_method_is_not_a_use():
    src = """\
    class Sigmoid:
        def backward(self, grad_output):
            return grad_output * self.s * (1 - self.s)
    """
    assert check(src, ["Tensor.backward"]) == []


# ---------------------------------------------------------------- dynamic evasions


def test_getattr_method_name():
    uses = check('getattr(loss, "backward")()\n', ["Tensor.backward"])
    assert [(u.api, u.name, u.line) for u in uses] == [
        ("Tensor.backward", "loss.backward", 1)
    ]


def test_getattr_module_resolved():
    uses = check('import torch\ng = getattr(torch, "autograd").grad\n')
    assert [(u.name, u.line) for u in uses] == [("torch.autograd.grad", 2)]


def test_getattr_module_attribute_alone():
    uses = check('import torch as T\nag = getattr(T, "autograd")\n')
    assert [(u.name, u.line) for u in uses] == [("torch.autograd", 2)]


def test_getattr_partial_name_on_unknown_base():
    uses = check('m = get_module()\nag = getattr(m, "autograd")\n')
    assert [(u.api, u.line) for u in uses] == [("torch.autograd", 2)]


def test_getattr_unrelated_string_not_flagged():
    assert check('import torch\nf = getattr(torch, "sigmoid")\n', AUTOGRAD) == []


def test_dunder_import():
    uses = check('ag = __import__("torch.autograd")\n')
    assert [(u.name, u.line) for u in uses] == [("torch.autograd", 1)]


def test_importlib_import_module():
    uses = check(
        """\
        import importlib
        ag = importlib.import_module("torch.autograd")
        ag.grad(y, x)
        """
    )
    assert [(u.name, u.line) for u in uses] == [
        ("torch.autograd", 2),
        ("torch.autograd.grad", 3),
    ]


def test_from_importlib_import_module():
    uses = check(
        'from importlib import import_module\nm = import_module("numpy.linalg")\nm.inv(a)\n',
        ["numpy.linalg.inv"],
    )
    assert [(u.name, u.line) for u in uses] == [("numpy.linalg.inv", 3)]


def test_dynamic_import_of_allowed_module_not_flagged():
    assert check('np = __import__("numpy")\nimportlib.import_module("torch.nn")\n') == []


@pytest.mark.parametrize("builtin", ["eval", "exec", "compile"])
def test_eval_exec_compile_always_reported(builtin):
    uses = check(f"x = 1\ny = {builtin}(code)\n", ["numpy.linalg.inv"])
    assert [(u.api, u.name, u.line) for u in uses] == [(DYNAMIC_CODE, builtin, 2)]


def test_torch_compile_is_not_dynamic_code():
    assert check("import torch\nf = torch.compile(model)\n") == []


# ---------------------------------------------------------------- realistic file


def test_realistic_student_file():
    source = '''\
    """Sigmoid layer: forward and backward."""
    import torch


    def sigmoid_forward(x):
        return 1 / (1 + torch.exp(-x))


    def sigmoid_backward(x, grad_output):
        # "Tensor.backward" is handy here
        x = x.clone().requires_grad_()
        y = torch.sigmoid(x)
        y.backward(grad_output)
        return x.grad
    '''
    uses = check(source, ["Tensor.backward", "torch.autograd"])
    assert len(uses) == 1
    (use,) = uses
    assert use == ForbiddenUse("Tensor.backward", "y.backward", "solution.py", 13, 6)
    assert use.message() == (
        "solution.py line 13: uses y.backward, which this problem forbids (Tensor.backward)"
    )


def test_message_format():
    use = ForbiddenUse("torch.autograd", "torch.autograd.grad", "solution.py", 12, 4)
    assert use.message() == (
        "solution.py line 12: uses torch.autograd.grad, "
        "which this problem forbids (torch.autograd)"
    )


def test_results_sorted_and_deduplicated():
    uses = check(
        """\
        import torch
        b = torch.autograd.grad(y, x)
        a = y.backward()
        from torch.autograd import grad
        """,
        ["torch.autograd", "Tensor.backward", "torch.Tensor.backward"],
    )
    assert lines(uses) == [2, 3, 4]
    assert len({(u.line, u.col, u.name) for u in uses}) == len(uses)


def test_default_filename():
    (use,) = find_forbidden("import torch.autograd\n", AUTOGRAD)
    assert use.file == "<submission>"


def test_syntax_error_propagates():
    with pytest.raises(SyntaxError) as info:
        find_forbidden("def f(:\n    pass\n", AUTOGRAD, "solution.py")
    assert info.value.filename == "solution.py"


def test_reassigned_variable_is_not_an_alias():
    uses = check(
        """\
        import torch
        def f(x):
            return x * 2
        x = torch.autograd.grad
        """
    )
    assert [(u.name, u.line) for u in uses] == [("torch.autograd.grad", 4)]


SHARED_FILE = textwrap.dedent("""
    import torch
    from torch.nn.functional import *
    import numpy as np
    ag = torch.autograd
    y = torch.sigmoid(torch.ones(2))
    z = y * 2

    def f(x):
        g = ag.grad
        w = np.linalg.inv(x)
        return relu(x), scaled_dot_product_attention, z.backward(), g, w
""")


def test_one_files_nodes_checked_against_several_lists_give_each_lists_own_answer():
    """A file is parsed and walked once for all its problems' lists (TreeNodes, its Bindings): what
    one list's check works out (its star-import names, its aliases) never reaches another's."""
    import ast

    from grader.problems.forbidden import tree_nodes

    lists = [["torch.autograd"], ["torch.nn.functional.relu"], ["numpy.linalg.inv", "Tensor.backward"],
             ["torch.nn.functional.scaled_dot_product_attention"], []]
    tree = ast.parse(SHARED_FILE)
    nodes = tree_nodes(tree)
    shared = [find_forbidden(tree, entries, nodes=nodes) for entries in lists + lists[::-1]]
    alone = [find_forbidden(SHARED_FILE, entries) for entries in lists + lists[::-1]]
    assert shared == alone
    assert [sorted({u.api for u in uses}) for uses in alone[:5]] == [
        ["torch.autograd"], ["torch.nn.functional.relu"], ["Tensor.backward", "numpy.linalg.inv"],
        ["torch.nn.functional.scaled_dot_product_attention"], []]
