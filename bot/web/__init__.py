"""Warta's public web face: the digest archive, feeds of the digests, trend charts, health and
metrics. It reads the store and the digest composer, never the chat adapters."""

from bot.web.charts import stats_png

__all__ = ["stats_png"]
