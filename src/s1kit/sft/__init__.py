"""Supervised fine-tuning: the s1 chat format and the training loop."""
