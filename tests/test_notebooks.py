"""Notebooks graded as a course expects: definitions only by default, `--notebook run` runs every
cell, IPython syntax recognised as IPython does, malformed notebooks are the student's result.

The notebooks are written with nbformat, as Jupyter and Colab write them."""
from __future__ import annotations

import json

import nbformat
import pytest
from nbformat.v4 import new_code_cell as code
from nbformat.v4 import new_markdown_cell as markdown
from nbformat.v4 import new_notebook

from grader.problems.notebook import transform_cell

SIGMOID = ("def sigmoid_backward(x, grad_output):\n"
           "    s = 1 / (1 + torch.exp(-x))  # is this right?\n"
           "    return grad_output * s * (1 - s)\n")


def write_notebook(path, *cells):
    nb = new_notebook(cells=list(cells))
    nb.metadata["colab"] = {"provenance": []}
    nbformat.write(nb, str(path))
    return path


def course_notebook(path):
    """A real-looking course notebook: setup, Colab, otter, data, the solution, plots, a 20 s training loop."""
    return write_notebook(
        path,
        markdown("# Homework 3: backprop\nRun every cell, then submit."),
        code("%matplotlib inline\n!pip install foo\nimport torch\nimport numpy as np\n"
             "import matplotlib.pyplot as plt\nimport seaborn as sns"),
        code("from google.colab import drive\ndrive.mount('/content/drive')"),
        code("import otter\ngrader = otter.Notebook()"),
        code("import pandas as pd\ndf = pd.read_csv('data.csv')\ndf.head()"),
        code("%%writefile helper.py\nimport torch\n\n\ndef sigmoid(z):\n    return 1 / (1 + torch.exp(-z))\n"),
        code("import helper\n\nEPS = 1e-8\nDATA = np.load('data.npy')  # used by plot_data only\n\n\n"
             "def plot_data():\n    plt.plot(DATA)\n\n\n" + SIGMOID),
        code("sigmoid_backward?\n"
             "x = torch.randn(4)\n"
             "check = (sigmoid_backward(x, torch.ones(4))\n"
             "% 2)\n"
             "same = (helper.sigmoid(x)\n"
             "!= torch.sigmoid(x))\n"
             "display(x)\nplt.plot(x)\nplt.show()\n"
             "grader.check('q1')"),
        code("import time\nfor epoch in range(20):  # training: 20 s\n"
             "    print(f'epoch {epoch}')\n    time.sleep(1)"),
    )


# ---------------------------------------------------------------- a course's notebook, end to end

def test_course_notebook_gets_full_marks_without_running_plots_data_or_training(tmp_path, grader_cmd):
    path = course_notebook(tmp_path / "hw3.ipynb")
    # the training cell would take 20 s and print "epoch N": the check must not run it (bounded by the timeout)
    result = grader_cmd("check", "sigmoid-backward", path, "--device", "cpu", "--json", timeout=90)
    data = json.loads(result.output)
    assert result.exit_code == 0, data
    assert data["score"] == data["max_score"] and not data["error"]
    assert "epoch" not in data["stdout"]  # the training loop did not run
    feedback = "\n".join(data["feedback"])
    assert "graded its definitions only" in feedback and "--notebook run" in feedback
    assert "skipped 3 IPython magic/shell line(s)" in feedback
    # the missing modules were noted, not fatal
    assert "module 'google.colab' is not installed" in data["stderr"]
    assert "DATA" in data["stderr"]  # the data file that is not there: noted, graded without it


def test_run_mode_reports_the_first_failing_cell(tmp_path, cli):
    path = write_notebook(
        tmp_path / "hw.ipynb",
        markdown("# HW"),
        code("import torch\n\n" + SIGMOID),
        code("x = torch.ones(3)\nprint('cell 3 ran')"),
        code("# load the data\nrows = open('data.csv').read()"),
        code("print('cell 5 ran')"),
    )
    result = cli("check", "sigmoid-backward", path, "--device", "cpu", "--notebook", "run", "--json")
    data = result.json()
    assert result.exit_code == 1 and data["score"] == 0
    assert data["error"].startswith("hw.ipynb cell 4 line 2: FileNotFoundError:"), data["error"]
    assert "cell 3 ran" in data["stdout"] and "cell 5 ran" not in data["stdout"]
    assert data["tests"][0]["output"].startswith("not run: hw.ipynb cell 4 line 2: FileNotFoundError")
    # the same notebook, definitions only (the default): full marks
    result = cli("check", "sigmoid-backward", path, "--device", "cpu", "--json")
    assert result.exit_code == 0, result.output
    assert "cell 3 ran" not in result.json()["stdout"]


def test_run_mode_names_a_cell_with_a_syntax_error(tmp_path, cli):
    path = write_notebook(tmp_path / "hw.ipynb", code("import torch\n\n" + SIGMOID),
                          code("x = 1\n\ny = (2 +\n"))
    result = cli("check", "sigmoid-backward", path, "--device", "cpu", "--notebook", "run", "--json")
    assert result.exit_code == 1
    assert result.json()["error"].startswith("hw.ipynb cell 2 line 3: SyntaxError"), result.json()["error"]
    # definitions only: the broken scratch cell is left out with a note
    result = cli("check", "sigmoid-backward", path, "--device", "cpu", "--json")
    assert result.exit_code == 0, result.output
    assert any("cell 2 has a SyntaxError" in note for note in result.json()["feedback"])


def test_nbformat_3_notebook(tmp_path, cli):
    from nbformat import v3

    nb = v3.new_notebook(worksheets=[v3.new_worksheet(cells=[
        v3.new_text_cell("markdown", source="# Old notebook"),
        v3.new_code_cell(input="import torch\n%matplotlib inline\n\n" + SIGMOID)])])
    path = tmp_path / "old.ipynb"
    path.write_text(json.dumps(nb), encoding="utf-8")
    assert json.loads(path.read_text())["nbformat"] == 3
    result = cli("check", "sigmoid-backward", path, "--device", "cpu", "--json")
    assert result.exit_code == 0, result.output
    assert result.json()["score"] == result.json()["max_score"]


def test_a_comment_ending_in_a_question_mark_is_code(tmp_path, cli):
    """It used to become `pass`: the function returned None and scored 0."""
    path = write_notebook(tmp_path / "hw.ipynb", code(
        "import torch\n\ndef sigmoid_backward(x, grad_output):\n"
        "    s = torch.sigmoid(x)\n    return grad_output * s * (1 - s)  # is this right?\n"))
    result = cli("check", "sigmoid-backward", path, "--device", "cpu")
    assert result.exit_code == 0, result.output


def test_writefile_helper_is_part_of_the_submission_in_run_mode_too(tmp_path, cli):
    path = write_notebook(
        tmp_path / "hw.ipynb",
        code("%%writefile helper.py\nimport torch\n\n\ndef sigmoid(z):\n    return torch.sigmoid(z)\n"),
        code("import helper\n\n\ndef sigmoid_backward(x, grad_output):\n"
             "    s = helper.sigmoid(x)\n    return grad_output * s * (1 - s)\n"),
        code("display(sigmoid_backward)\nget_ipython().run_line_magic('time', 'x = 1')\nfiles = !ls\n"))
    for mode in ("definitions", "run"):
        result = cli("check", "sigmoid-backward", path, "--device", "cpu", "--notebook", mode)
        assert result.exit_code == 0, (mode, result.output)


def test_missing_module_used_by_the_graded_function_is_named(tmp_path, cli):
    path = write_notebook(tmp_path / "hw.ipynb", code(
        "import no_such_course_lib as ncl\n\n\ndef conv_output_size(n, f, p=0, s=1):\n"
        "    return ncl.size(n, f, p, s)\n"))
    result = cli("check", "conv-output-size", path, "--json")
    data = result.json()
    assert result.exit_code == 1 and data["score"] == 0
    assert "module 'no_such_course_lib' is not installed where the grader runs" in data["tests"][0]["output"]
    assert "hw.ipynb cell 1, line 5" in data["tests"][0]["output"]


def test_forbidden_api_in_a_notebook_names_the_cell(tmp_path, cli):
    path = write_notebook(tmp_path / "hw.ipynb", markdown("# HW"), code("import torch"), code(
        "def sigmoid_backward(x, grad_output):\n    x = x.detach().requires_grad_()\n"
        "    y = torch.sigmoid(x)\n    return torch.autograd.grad(y, x, grad_output)[0]\n"))
    result = cli("check", "sigmoid-backward", path, "--device", "cpu", "--json")
    data = result.json()
    assert result.exit_code == 1 and data["score"] == 0
    assert "hw.ipynb cell 3 line 4: uses torch.autograd.grad" in data["error"], data["error"]


def test_folder_grades_the_file_that_defines_the_entry_point(tmp_path, cli):
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "solution.py").write_text("import math\n\n\ndef conv_output_size(n, f, p=0, s=1):\n"
                                        "    return math.floor((n - f + 2 * p) / s) + 1\n")
    # "a_" sorts first; this notebook only imports the function, and fails if it is the one loaded
    write_notebook(folder / "a_tryout.ipynb", code("from solution import conv_output_size\nRATIO = 1 / 0\n"),
                   code("conv_output_size(7, 3)"))
    result = cli("check", "conv-output-size", folder, "--json")
    assert result.exit_code == 0, result.output


# ---------------------------------------------------------------- load failures name the cause

def test_load_failure_names_file_line_and_exception(cli, submission):
    path = submission("import math\n\nTABLE = np.zeros(3)\n\n\ndef conv_output_size(n, f, p=0, s=1):\n"
                      "    return 1\n")
    data = cli("check", "conv-output-size", path, "--json").json()
    assert data["error"].startswith("solution.py line 3: NameError: name 'np' is not defined"), data["error"]
    assert data["tests"][0]["output"] == "not run: solution.py line 3: NameError: name 'np' is not defined"


def test_load_failure_in_a_helper_module_names_the_helper(tmp_path, cli):
    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "helpers.py").write_text("import math\n\n\ndef setup():\n    return {}['missing']\n")
    (folder / "solution.py").write_text("from helpers import setup\n\nCONFIG = setup()\n\n\n"
                                        "def conv_output_size(n, f, p=0, s=1):\n    return 1\n")
    data = cli("check", "conv-output-size", folder, "--json").json()
    assert data["error"].startswith("helpers.py line 5: KeyError: 'missing'"), data["error"]
    assert "solution.py, line 3, in <module>" in data["error"]


# ---------------------------------------------------------------- malformed notebooks

MALFORMED = {
    "cells-not-a-list": b'{"cells": 5, "nbformat": 4}',
    "source-of-ints": json.dumps({"cells": [{"cell_type": "code", "source": [1, 2], "metadata": {},
                                             "outputs": []}], "metadata": {}, "nbformat": 4,
                                  "nbformat_minor": 5}).encode(),
    "nested-deep": b'{"cells": [' + b"[" * 50_000 + b"]" * 50_000 + b'], "nbformat": 4}',
    "not-json": b'{"cells": [{"cell_type": "code", "source": "x"',
    "not-utf8": b'\xff\xfe{"cells": []}',
    "a-list": b"[]",
}


@pytest.mark.parametrize("name", sorted(MALFORMED))
def test_malformed_notebook_is_the_students_failure(tmp_path, cli, name):
    path = tmp_path / "hw.ipynb"
    path.write_bytes(MALFORMED[name])
    result = cli("check", "conv-output-size", path, "--json")
    assert result.exit_code == 1, result.output
    data = result.json()
    assert data["score"] == 0 and data["error"].startswith("hw.ipynb:"), data["error"]
    assert "Traceback" not in result.output + result.stderr


def test_a_20_mb_line_is_refused_before_parsing_and_not_echoed(tmp_path, cli):
    path = tmp_path / "hw.ipynb"
    line = "x = 1" + " " * (20 << 20)
    path.write_text(json.dumps({"cells": [{"cell_type": "code", "source": line, "metadata": {}, "outputs": []}],
                                "metadata": {}, "nbformat": 4, "nbformat_minor": 5}))
    result = cli("check", "conv-output-size", path, "--json")
    assert result.exit_code == 1
    assert "too big for a submission file" in result.json()["error"]
    assert len(result.output) < 10_000


def test_too_much_code_in_a_notebook_under_the_size_cap_is_refused(tmp_path, cli):
    path = write_notebook(tmp_path / "hw.ipynb", code("x = 1\n" * 300_000))
    result = cli("check", "conv-output-size", path, "--json")
    assert result.exit_code == 1
    assert "characters of code" in result.json()["error"]


def test_class_run_grades_everyone_around_a_malformed_notebook(tmp_path, grader_cmd):
    class_dir = tmp_path / "class"
    class_dir.mkdir()
    (class_dir / "eve.ipynb").write_bytes(MALFORMED["cells-not-a-list"])
    (class_dir / "mallory.ipynb").write_bytes(MALFORMED["nested-deep"])
    write_notebook(class_dir / "alice.ipynb", code("import math\n\n\ndef conv_output_size(n, f, p=0, s=1):\n"
                                                   "    return math.floor((n - f + 2 * p) / s) + 1\n"),
                   code("rows = open('data.csv').read()"))
    assignment = tmp_path / "a.yaml"
    assignment.write_text("name: hw\nproblems: [conv-output-size]\n")
    out = tmp_path / "out"
    result = grader_cmd("grade", class_dir, "--assignment", assignment, "--out", out, "--no-progress")
    assert result.exit_code == 0, result.stderr
    students = {p.stem: json.loads(p.read_text()) for p in (out / "students").glob("*.json")}
    assert students["alice"]["score"] == students["alice"]["max_score"]
    assert "'cells' is not a list" in students["eve"]["problems"][0]["error"]
    assert "nested too deeply" in students["mallory"]["problems"][0]["error"]
    # the assignment says notebooks run whole: alice's data cell fails, and names the cell
    assignment.write_text("name: hw\nnotebook: run\nproblems: [conv-output-size]\n")
    result = grader_cmd("grade", class_dir, "--assignment", assignment, "--out", out, "--no-progress")
    assert result.exit_code == 0, result.stderr
    alice = json.loads((out / "students" / "alice.json").read_text())
    assert alice["score"] == 0 and alice["problems"][0]["error"].startswith("alice.ipynb cell 2 line 1: FileNotFoundError")
    # --notebook overrides the assignment
    result = grader_cmd("grade", class_dir, "--assignment", assignment, "--out", out, "--no-progress",
                        "--notebook", "definitions")
    alice = json.loads((out / "students" / "alice.json").read_text())
    assert alice["score"] == alice["max_score"]


def test_assignment_notebook_mode_is_validated(tmp_path, grader_cmd):
    assignment = tmp_path / "a.yaml"
    assignment.write_text("name: hw\nnotebook: all-cells\nproblems: [conv-output-size]\n")
    (tmp_path / "class").mkdir()
    result = grader_cmd("grade", tmp_path / "class", "--assignment", assignment, "--out", tmp_path / "out")
    assert result.exit_code == 2 and "notebook" in result.stderr


# ---------------------------------------------------------------- IPython syntax, line by line

@pytest.mark.parametrize("line, expected", [
    ("%matplotlib inline", "get_ipython().run_line_magic('matplotlib', 'inline')"),
    ("!pip install foo", "get_ipython().system('pip install foo')"),
    ("files = !ls -la", "files = get_ipython().getoutput('ls -la')"),
    ("t = %timeit -o f(x)", "t = get_ipython().run_line_magic('timeit', '-o f(x)')"),
    ("np.exp?", "get_ipython().run_line_magic('pinfo', 'np.exp')"),
    ("??np.exp", "get_ipython().run_line_magic('pinfo', 'np.exp')"),
    ("x = f(1)  # right?", "x = f(1)  # right?"),
    ("# what about this?", "# what about this?"),
    ("print('why?')", "print('why?')"),
    ("a = b % c", "a = b % c"),
    ("a = b != c", "a = b != c"),
])
def test_magics_only_where_ipython_sees_them(line, expected):
    assert transform_cell(1, line).lines == [expected]


def test_continuation_lines_stay_python():
    source = "y = (a\n% 2)\nz = (b\n!= c)\nw = a + \\\n    b\ns = '''\n%not a magic\n!nor this\n'''\n"
    cell = transform_cell(1, source)
    assert cell.lines == source.splitlines() and cell.magics == 0


def test_magic_inside_a_block_keeps_the_block_valid():
    cell = transform_cell(1, "for i in range(2):\n    !nvidia-smi\n    %time f()\n")
    compile("\n".join(cell.lines), "cell", "exec")
    assert cell.lines[1] == "    get_ipython().system('nvidia-smi')"


def test_cell_magics():
    bash = transform_cell(1, "%%bash\necho hi\n")
    assert bash.skipped_body and bash.lines[0].startswith("get_ipython().run_cell_magic('bash'")
    timed = transform_cell(1, "%%time\nx = 1\n")
    assert timed.lines == ["", "x = 1"] and not timed.skipped_body
    written = transform_cell(1, "%%writefile -a helper.py\ndef f():\n    return 1\n")
    assert written.writefile == ("helper.py", "def f():\n    return 1\n", True)


def test_what_only_the_compiler_refuses_names_the_cell(tmp_path, cli):
    path = write_notebook(tmp_path / "hw.ipynb", code("import math\n\n\ndef conv_output_size(n, f, p=0, s=1):\n"
                                                      "    return math.floor((n - f + 2 * p) / s) + 1\n"),
                          code("size = 3\nreturn size  # works in no notebook either"))
    data = cli("check", "conv-output-size", path, "--notebook", "run", "--json").json()
    assert data["error"] == "SyntaxError in hw.ipynb cell 2 line 2: 'return' outside function", data["error"]
    # definitions only: the stray statement is left out
    assert cli("check", "conv-output-size", path).exit_code == 0


def test_notebooks_count_against_the_submission_limits(tmp_path, cli):
    from grader.errors import UsageError
    from grader.problems.submission import MAX_FILE_BYTES, MAX_FILES, read_submission

    folder = tmp_path / "student"
    folder.mkdir()
    (folder / "solution.py").write_text("import math\n\n\ndef conv_output_size(n, f, p=0, s=1):\n"
                                        "    return math.floor((n - f + 2 * p) / s) + 1\n")
    big = new_notebook(cells=[code("x = 1", outputs=[nbformat.v4.new_output(
        "display_data", data={"image/png": "A" * (MAX_FILE_BYTES + 1)})])])
    nbformat.write(big, str(folder / "plots.ipynb"))
    result = cli("check", "conv-output-size", folder, "--json")
    assert result.exit_code == 0, result.output  # the big notebook is skipped, the .py graded
    assert any("plots.ipynb" in note and "too big" in note for note in result.json()["feedback"])
    # a notebook's module and its %%writefile files count as files
    (folder / "plots.ipynb").unlink()
    for i in range(MAX_FILES - 2):
        (folder / f"f{i}.py").write_text("x = 1\n")  # code files count (data files do not)
    write_notebook(folder / "hw.ipynb", code("%%writefile a.py\nA = 1\n"), code("%%writefile b.py\nB = 1\n"))
    with pytest.raises(UsageError, match=f"more than {MAX_FILES} files"):
        read_submission(folder)
