"""`python -m grader.sandbox`: list the protections active on this machine."""
from grader.sandbox.confine import main

main()
