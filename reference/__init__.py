"""Reference implementations of the problem bank: trusted, secret at grading time.

One module per topic; each function reads like the course notes, with the formula in its
docstring. Known wrong implementations (the "mistakes" a spec lists) live in reference/mistakes/.
The grader imports these only in its own, trusted process.
"""
