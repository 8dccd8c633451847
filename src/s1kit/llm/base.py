"""The request/response contract every LLM backend implements."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Protocol

from s1kit.registry import Registry


@dataclass(frozen=True)
class Request:
    model: str
    messages: tuple[dict[str, str], ...]
    params: dict[str, Any] = field(default_factory=dict)
    template_version: str = "1"
    # Shared system prefix (a rubric, the grading prompt); Anthropic caches it as a prompt prefix.
    system: str | None = None
    # The i-th sample of the same request (several samples at temperature > 0 get distinct keys).
    sample_index: int = 0


@dataclass(frozen=True)
class Response:
    text: str
    reasoning: str | None
    finish_reason: str  # "stop" | "length" | "error"
    usage: dict[str, int] = field(default_factory=dict)
    error: str | None = None
    # Character spans of `reasoning` to leave out of the SFT loss (a deliberate wrong step).
    masked: tuple[tuple[int, int], ...] = ()

    @property
    def ok(self) -> bool:
        return self.finish_reason == "stop" and self.error is None


class Backend(Protocol):
    name: str

    def complete(self, request: Request) -> Response: ...


BACKENDS: Registry = Registry("llm backend")
