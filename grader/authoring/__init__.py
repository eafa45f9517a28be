"""For instructors: validate a bank, scaffold a new problem, show a problem."""
