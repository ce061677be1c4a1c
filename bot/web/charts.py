"""Weekly trend charts drawn server-side with matplotlib: SVG for the page, PNG for chats.

matplotlib is imported only when a chart is drawn (it costs about half a second, which no CLI
command but this should pay), uses the Agg backend through the object API (pyplot keeps global
state that is not thread-safe), and renders off the event loop. Charts are cached under a
fingerprint of their numbers and labels, so a week's chart is drawn once until a story arrives.
"""

from __future__ import annotations

import asyncio
import io
import threading
from collections import OrderedDict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from bot.lang.strings import MONTHS
from bot.web.archive import Archive, ArchiveStore, PublicSources, WeeklyCounts
from bot.web.strings import t

ChartKind = Literal["outlet", "theme", "lang"]
CHART_KINDS: tuple[ChartKind, ...] = ("outlet", "theme", "lang")
# Okabe & Ito's palette: told apart by readers with the common colour-vision deficiencies.
PALETTE = ("#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#999999")

_render_lock = threading.Lock()  # matplotlib's rcParams and font cache are process-global
_cache: OrderedDict[tuple[str, ...], bytes] = OrderedDict()
_CACHE_SIZE = 64


@dataclass(frozen=True, slots=True)
class Series:
    title: str
    labels: tuple[str, ...]  # one per week
    names: tuple[str, ...]  # one per stacked series
    values: tuple[tuple[int, ...], ...]  # values[series][week]

    @property
    def total(self) -> int:
        return sum(sum(v) for v in self.values)

    def top(self) -> str:
        sums = [sum(v) for v in self.values]
        return self.names[sums.index(max(sums))] if sums else ""


def week_label(monday: date, lang: str) -> str:
    return f"{monday.day} {MONTHS[lang][monday.month - 1]}"


def series(counts: WeeklyCounts, kind: ChartKind, lang: str) -> Series:
    """The numbers of one chart with localized names (the page's table shows the same)."""
    if kind == "outlet":
        data = counts.by_outlet
        names = [name or t("other", lang) for name in data]
    elif kind == "theme":
        data = counts.by_theme
        names = [t(f"theme_{theme}", lang) for theme in data]
    else:
        data = counts.by_lang
        names = [t(f"lang_{code}", lang) for code in data]
    return Series(
        title=t(f"chart_{kind}", lang),
        labels=tuple(week_label(m, lang) for m in counts.weeks),
        names=tuple(names),
        values=tuple(tuple(v) for v in data.values()),
    )


def alt_text(s: Series, lang: str, weeks: int) -> str:
    if not s.total:
        return t("chart_alt_empty", lang, title=s.title, weeks=weeks)
    return t("chart_alt", lang, title=s.title, total=s.total, weeks=weeks, top=s.top())


def _label(name: str, limit: int = 32) -> str:
    """A legend label from untrusted text: matplotlib reads ``$...$`` as math (an unbalanced
    ``$`` raises) and hides labels that start with ``_``; long outlet names are cut."""
    text = " ".join(name.split())
    text = text if len(text) <= limit else text[: limit - 1] + "…"
    text = text.replace("$", r"\$")
    return "\u200b" + text if text.startswith("_") else text


def _draw(charts: Sequence[Series], fmt: str, *, width_in: float, height_in: float) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.figure import Figure

    with _render_lock, matplotlib.rc_context({"svg.hashsalt": "warta", "font.size": 10}):
        fig = Figure(figsize=(width_in, height_in * len(charts)), layout="constrained")
        axes: Any = fig.subplots(len(charts), 1, squeeze=False)
        for ax, s in zip(axes[:, 0], charts, strict=True):
            bottom = [0] * len(s.labels)
            x = range(len(s.labels))
            for i, (name, values) in enumerate(zip(s.names, s.values, strict=True)):
                ax.bar(
                    x, values, bottom=bottom, label=_label(name), color=PALETTE[i % len(PALETTE)]
                )
                bottom = [b + v for b, v in zip(bottom, values, strict=True)]
            if len(charts) > 1:  # a lone chart sits under its page heading; a PNG needs titles
                ax.set_title(s.title, loc="left", fontweight="bold")
            ax.set_xticks(list(x), s.labels, rotation=45, ha="right")
            ax.yaxis.get_major_locator().set_params(integer=True)
            ax.spines[["top", "right"]].set_visible(False)
            if s.names:  # no outlet had a story (a chat with no sources yet): no legend
                ax.legend(
                    loc="upper left",
                    bbox_to_anchor=(0.0, -0.32),
                    ncols=min(3, len(s.names)),
                    frameon=False,
                    fontsize=9,
                )
        buf = io.BytesIO()
        # No dates or software version in the file: the same numbers give the same bytes.
        metadata = {"Date": None} if fmt == "svg" else {"Software": None}
        fig.savefig(buf, format=fmt, metadata=metadata, dpi=110)
    return buf.getvalue()


async def render(
    charts: Sequence[Series], fmt: Literal["svg", "png"], *, width_in: float = 8.0
) -> bytes:
    """Draw stacked weekly bars (one panel per series), cached by their content."""
    key = (fmt, str(width_in), *(repr(s) for s in charts))
    cached = _cache.get(key)
    if cached is not None:
        _cache.move_to_end(key)
        return cached
    data = await asyncio.to_thread(_draw, charts, fmt, width_in=width_in, height_in=3.6)
    _cache[key] = data
    while len(_cache) > _CACHE_SIZE:
        _cache.popitem(last=False)
    return data


async def stats_png(
    store: ArchiveStore,
    lang: str,
    *,
    sources: PublicSources,
    weeks: int = 12,
    tz: str = "Asia/Jakarta",
    scorer: Any = None,
) -> bytes:
    """One PNG with the three weekly charts, for the chat command ``/stats``.

    ``sources`` gives the feed URLs that may be counted (the site: the instance's defaults,
    :class:`bot.web.archive.StoreDefaultSources`; the chat command: that chat's set);
    ``scorer`` decides relevance thresholds
    (the app's scorer; the packaged lexicon when None). Raises StoreError from the store.
    """
    if scorer is None:
        from bot.analyze import default_scorer

        scorer = default_scorer()
    archive = Archive(store, sources=sources, scorer=scorer, tz=tz)
    counts = await archive.weekly_counts(weeks=weeks)
    return await render([series(counts, kind, lang) for kind in CHART_KINDS], "png")
