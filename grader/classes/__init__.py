"""Grading a class: the assignment, the run over students, the cache, the outputs it writes."""
