"""Summarizers: the protocol and registry (``base``), the offline extractive default."""

from bot.summarize.base import Summarizer, get_summarizer

__all__ = ["Summarizer", "get_summarizer"]
