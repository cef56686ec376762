"""Per assignment: the random small models and inputs the tests use, and the
usual mistakes, written out, so that a failing test can name the one made."""
