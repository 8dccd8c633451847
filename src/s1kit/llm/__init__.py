"""LLM backends behind one interface: teachers, graders and classifiers call `complete`.

The tiny default uses the procedural ``oracle`` backend; API backends (gemini,
openai-compatible, anthropic, replay) register here under the same interface.

Every call should go through ``s1kit.llm.client.CachedClient`` (cache, retries, rate
limit, ledger); see docs/llm.md.
"""

import inspect

from s1kit.llm.base import BACKENDS, Backend, Request, Response
from s1kit.llm.client import CachedClient
from s1kit.secrets import env_option_names, register

BACKENDS.register("oracle", "s1kit.llm.oracle:OracleBackend")
BACKENDS.register("openai_compat", "s1kit.llm.openai_compat:OpenAICompatBackend")
BACKENDS.register("anthropic", "s1kit.llm.anthropic:AnthropicBackend")
BACKENDS.register("gemini", "s1kit.llm.gemini:GeminiBackend")
BACKENDS.register("replay", "s1kit.llm.replay:ReplayBackend")


def make_client(backend: str, options: dict | None = None, **client_options):
    """A CachedClient around ``BACKENDS.get(backend)(**options)``; unknown options name the backend.
    The variables named by ``*_env`` options become secrets of this process (s1kit.secrets)."""
    cls = BACKENDS.get(backend)
    options = dict(options or {})
    register(*env_option_names(options))
    unknown = sorted(set(options) - set(inspect.signature(cls).parameters))
    if unknown:
        raise ValueError(f"unknown option(s) {unknown} for llm backend {backend!r}; "
                         f"known: {sorted(inspect.signature(cls).parameters)}")
    return CachedClient(cls(**options), **client_options)


__all__ = ["BACKENDS", "Backend", "Request", "Response", "make_client"]
