"""`python -m grader`: the same as the `grader` command."""
from grader.cli.main import main

main(prog_name="grader")
