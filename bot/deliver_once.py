"""`warta deliver --once`: compose what is due and send what is queued, then exit.

The cron-friendly twin of `warta poll --once`: operators can run both from cron instead of
`warta run`, and benchmarks get a public path to the fan-out. Adapters start in a send-only
mode (Telegram without getUpdates, Discord without the gateway) so a one-shot run beside a
running `warta run` takes none of its updates. ``dry_run`` composes and reports what would be
queued, and neither queues, advances nor sends anything.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import TextIO

from bot.adapters.base import ChatAdapter
from bot.app import App
from bot.delivery import DueReport, Sender, announce_stored, run_due
from bot.digest import ComposeFn
from bot.summarize.base import Summarizer


async def deliver_once(
    app: App,
    compose: ComposeFn,
    adapters: Mapping[str, ChatAdapter],
    *,
    dry_run: bool = False,
    now: datetime | None = None,
    out: TextIO | None = None,
) -> DueReport:
    """Compose every due subscription and (unless ``dry_run``) queue and send. ``adapters``
    are already started for sending; deliveries for a platform not among them stay queued."""
    out = out or sys.stdout
    when = now or datetime.now(UTC)
    report = await run_due(app.store, when, compose=compose, dry_run=dry_run)
    verb = "would queue" if dry_run else "queued"
    if report.busy:
        print("another process is composing the due digests: left to it", file=out)
    print(
        f"due {report.due}: {report.composes} composes, {verb} {report.queued}, "
        f"{report.skipped_empty} empty",
        file=out,
    )
    if dry_run:
        for key, chats in sorted(report.keys.items(), key=lambda kv: (-kv[1], kv[0].lang)):
            feeds = "all" if key.feeds is None else f"{len(key.feeds)} sources"
            print(
                f"  {chats} chats: lang={key.lang} window={key.start.isoformat()}.."
                f"{key.end.isoformat()} tz={key.tz} keywords={' '.join(key.keywords) or '-'} "
                f"max={key.max_stories} {feeds}",
                file=out,
            )
        return report
    # Instant posts for stories any process stored (announcements), then the whole outbox.
    instant = await announce_stored(
        app.store,
        is_relevant=lambda s: (s.relevance or 0.0) >= app.scorer.threshold_for(s.lang),
        other_languages=app.settings.digest_other_languages,
    )
    if instant:
        print(f"queued {instant} instant posts", file=out)
    sender = Sender(
        app.store,
        adapters,
        clock=lambda: datetime.now(UTC),
        lease_s=app.settings.delivery_lease_s,
    )
    sent = 0
    while (done := await sender.drain_once()) > 0:
        sent += done
    print(f"sent {sent}", file=out)
    return report


async def open_senders(app: App, summarizer: Summarizer) -> dict[str, ChatAdapter]:
    """The configured adapters, started for sending only. The console adapter needs no
    start (its deliveries print to stdout)."""
    from bot.runner import build_adapters, build_core

    adapters = build_adapters(app.settings)
    core = build_core(app, adapters, summarizer)
    started: dict[str, ChatAdapter] = {}
    try:
        for name, adapter in adapters.items():
            if name == "telegram":
                await adapter.start_sending()  # type: ignore[attr-defined]
            elif name == "discord":
                await adapter.start(  # type: ignore[call-arg]
                    core, connect_gateway=False, sync_commands=False
                )
            started[name] = adapter
    except BaseException:
        for adapter in started.values():
            await adapter.stop()
        raise
    return started
