"""Kind `function`: the student writes a function, graded on generated cases."""
