"""The embedded tiny default: a task family, a word-level tokenizer and a Qwen2-architecture student."""
