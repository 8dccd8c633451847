"""Featurize stage (arXiv 2501.19393v3 §2.2): attempts by student-size models, grades, domains, lengths."""
