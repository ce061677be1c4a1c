"""The summarizer seam and its small registry.

Callers (ingest, ``/summary``) depend on the ``Summarizer`` protocol only. Every backend raises
``SummarizeError`` on failure; callers then fall back to the extractive summary, which never
fails on text.
"""

from __future__ import annotations

import importlib
from typing import Any, Protocol, runtime_checkable

from bot.errors import ConfigError
from bot.models import Summary


@runtime_checkable
class Summarizer(Protocol):
    """Turns a story into a headline plus 2-4 quick-facts bullets."""

    name: str

    async def summarize(
        self,
        *,
        title: str,
        text: str,
        lang: str,
        target_lang: str | None = None,
        chat: str | None = None,
    ) -> Summary:
        """Summarize ``text`` (in ``lang``), in ``target_lang`` when the backend can translate.

        ``chat`` names the chat that asked (``"platform:id"``), so a backend with a daily budget
        can share it fairly between chats; None is the shared bucket (digests, which serve many
        chats at once).

        Raises SummarizeError when the backend fails (timeout, bad reply, refused input).
        """
        ...


# name -> "module:factory"; a factory takes keyword settings and returns a Summarizer.
_REGISTRY: dict[str, str] = {
    "extractive": "bot.summarize.extractive:create",
    "llm": "bot.summarize.llm:create",
}


def available() -> tuple[str, ...]:
    return tuple(_REGISTRY)


def get_summarizer(name: str, **kwargs: Any) -> Summarizer:
    """The summarizer registered as ``name``, built with ``kwargs``.

    Raises ConfigError for an unknown name or a backend that cannot be loaded (a missing
    optional module or dependency), with the import error as the cause.
    """
    target = _REGISTRY.get(name)
    if target is None:
        raise ConfigError(f"unknown summarizer {name!r} (known: {', '.join(_REGISTRY)})")
    module_name, _, factory_name = target.partition(":")
    try:
        module = importlib.import_module(module_name)
        factory = getattr(module, factory_name)
    except (ImportError, AttributeError) as e:
        raise ConfigError(f"summarizer {name!r} cannot be loaded: {e}") from e
    summarizer = factory(**kwargs)
    if not isinstance(summarizer, Summarizer):
        raise ConfigError(f"summarizer {name!r} does not implement the Summarizer protocol")
    return summarizer
