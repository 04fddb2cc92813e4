"""nn-exercises: the grading engine, its command line, the hidden tests and the points."""
