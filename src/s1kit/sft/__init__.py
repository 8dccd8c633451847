"""Supervised fine-tuning: the s1 chat format (format), the settings (config), the training
loop (train) and its parts (data, optim, distributed, checkpoints, metrics), the launch line
(launch) and the cost model (cost)."""
