"""Known wrong implementations: each spec's `mistakes` point here. Validation proves each one
fails, and a student whose output matches one is told which mistake it is."""
