"""s1kit: a reproducibility kit for "s1: Simple test-time scaling"."""

__version__ = "0.1.0"
