"""Evaluation with budget forcing (arXiv 2501.19393v3 §3).

- ``budget``: the backend-agnostic budget-forcing controller (pure Python).
- ``hf_generate``: a transformers generate backend that keeps the KV cache across rounds.
- ``models``: lm-eval models ``s1kit_hf`` and ``s1kit_vllm`` (call ``models.register()``).
- ``answers``: answer extraction and math_verify equivalence.
- ``metrics``: Control, Scaling and Performance.
- ``tasks/``: lm-eval task YAMLs (load with ``TaskManager(include_path=tasks.TASKS_DIR)``).
- ``run``: ``run_eval`` and the ``s1kit evaluate`` subcommand.
"""
