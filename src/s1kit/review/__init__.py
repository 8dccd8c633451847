"""Review mode: rebuild on CPU what the paper's published artifacts allow (docs/review.md).

Two parts, each a `s1kit` subcommand and a rule of workflow/rules/review.smk:

* ``review-grade`` (s1kit.review.regrade): re-grade the published evaluation samples
  (``simplescaling/results``, lm-evaluation-harness 0.4 output) with the kit's answer checking
  (s1kit.evaluate.answers.score against each sample's gold ``target``), recompute accuracy
  and the average thinking length per run x task, and compare with the stored
  ``exact_match`` (per sample and in results_*.json) and with the paper's claim.
* ``review-select`` (s1kit.review.reselect): count thinking lengths on the published 59K
  pool, rerun the selections its columns allow (the pool has no domains and no difficulty
  grades, so not s1K itself), and compare the published s1K's ids with the pool and the
  reruns through s1kit.select.overlap.

Thinking length is counted in Qwen2.5 tokens when the tokenizer was fetched
(review.thinking_count: tokenizer), else in whitespace words or characters; every output
names its unit (s1kit.review.inputs). The fork's grader was gpt-4o-mini; this one is
math-verify, so disagreements are expected and listed one by one.
"""
