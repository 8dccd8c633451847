"""LLM backends behind one interface: teachers, graders and classifiers call `complete`.

The tiny default uses the procedural ``oracle`` backend; API backends (gemini,
openai-compatible, anthropic, replay) register here under the same interface.
"""

from s1kit.llm.base import BACKENDS, Backend, Request, Response

BACKENDS.register("oracle", "s1kit.llm.oracle:OracleBackend")

__all__ = ["BACKENDS", "Backend", "Request", "Response"]
