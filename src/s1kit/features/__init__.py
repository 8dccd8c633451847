"""Featurize stage (PAPER.md step 3): attempts by student-size models, grades, domains, lengths."""
