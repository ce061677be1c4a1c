"""The ``warta`` command: parse arguments, load settings once, run one subcommand."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from bot.errors import ConfigError, WartaError

if TYPE_CHECKING:
    from bot.config import Settings

EXIT_USAGE = 2


def _since(text: str) -> timedelta:
    from bot.config import parse_duration

    try:
        seconds = parse_duration(text)
    except ConfigError as e:
        raise argparse.ArgumentTypeError(str(e)) from e
    if not seconds or seconds <= 0:
        raise argparse.ArgumentTypeError(f"not a positive duration: {text!r} (try 24h, 3d)")
    return timedelta(seconds=seconds)


def _lang(text: str) -> str:
    if text not in ("id", "en"):
        raise argparse.ArgumentTypeError("language must be 'id' or 'en'")
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="warta",
        description="Warta: AI-and-artists news digests for Telegram, Discord and the console.",
    )
    parser.add_argument("--config", metavar="PATH", help="settings file (config/settings.toml)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = sub.add_parser("demo", help="serve bundled sample feeds on loopback and print digests")
    demo.add_argument("--lang", type=_lang, action="append", help="only this language")

    poll = sub.add_parser("poll", help="poll the feeds that are due")
    poll.add_argument("--once", action="store_true", help="one poll cycle, then exit")
    poll.add_argument("--all", action="store_true", help="poll every feed now, due or not")

    deliver = sub.add_parser("deliver", help="compose the digests that are due and send them")
    deliver.add_argument("--once", action="store_true", help="one pass, then exit")
    deliver.add_argument(
        "--dry-run",
        action="store_true",
        help="compose and print what would be queued (count, keys); queue and send nothing",
    )
    digest = sub.add_parser("digest", help="print a digest of stored stories")
    digest.add_argument("--lang", type=_lang, default=None)
    digest.add_argument("--since", type=_since, default=timedelta(hours=24))
    digest.add_argument("--max", type=int, default=None, dest="max_stories")
    digest.add_argument("--keywords", default="", help='e.g. "+midjourney -nft"')

    feeds = sub.add_parser("feeds", help="list, add, remove, import or export feeds")
    fsub = feeds.add_subparsers(dest="action", required=True, metavar="ACTION")
    fsub.add_parser("list", help="feeds and their state")
    fadd = fsub.add_parser("add", help="add a feed by URL")
    fadd.add_argument("url")
    fadd.add_argument("--lang", type=_lang)
    fadd.add_argument("--title")
    frem = fsub.add_parser("remove", help="remove a feed")
    frem.add_argument("url")
    fimp = fsub.add_parser("import", help="import an OPML file")
    fimp.add_argument("path")
    fexp = fsub.add_parser("export", help="export OPML to a file or stdout")
    fexp.add_argument("path", nargs="?", default="-")

    inspect = sub.add_parser(
        "inspect", help="fetch or read feeds and print, per story, what a poll computes (JSON)"
    )
    inspect.add_argument("urls", nargs="*", metavar="URL")
    # "--file A B" and "--file A --file B" both read two files.
    inspect.add_argument(
        "--file", action="extend", nargs="+", default=[], metavar="PATH", dest="files"
    )

    stories = sub.add_parser("stories", help="list stored stories")
    stories.add_argument("--since", type=_since, default=timedelta(hours=24))
    stories.add_argument("--json", action="store_true")
    stories.add_argument("--all", action="store_true", help="include stories off-topic")

    analyze = sub.add_parser("analyze", help="score and summarize JSON lines {id,title,text,lang?}")
    analyze.add_argument("input", nargs="?", default="-", help="file, or - for stdin")
    analyze.add_argument(
        "--lazy-bullets",
        action="store_true",
        help="bullets only for stories that can reach a chat, as a poll does (default: all)",
    )

    sub.add_parser(
        "health",
        help="exit 0 while `warta run` keeps its heartbeat fresh and no adapter stays down",
    )

    web = sub.add_parser("web", help="serve the public archive, feeds, charts, health and metrics")
    web.add_argument("--host", help="address to bind (default: web_host, 127.0.0.1)")
    web.add_argument("--port", type=int, help="port (default: web_port, 8080)")

    run = sub.add_parser("run", help="run the scheduler and every configured chat adapter")
    run.add_argument("--no-poll", action="store_true", help="do not poll feeds (adapters only)")
    # Roles: the parts of `warta run`, for several processes and machines on one PostgreSQL.
    sub.add_parser("worker", help="poll, analyze and store feeds; compose due digests; prune")
    sub.add_parser("sender", help="send the queued digests and instant posts (no commands)")
    gateway = sub.add_parser("gateway", help="answer chat commands on one platform")
    gateway.add_argument("--platform", required=True, choices=("telegram", "discord"))
    gateway.add_argument(
        "--shard-count", type=int, help="Discord: shards in all (default: discord_shard_count)"
    )
    gateway.add_argument(
        "--shard-ids",
        type=_shard_ids,
        help="Discord: the shards this process runs, e.g. 0,1 (default: discord_shard_ids)",
    )
    return parser


def _shard_ids(text: str) -> tuple[int, ...]:
    try:
        ids = tuple(int(part) for part in text.split(",") if part.strip())
    except ValueError as e:
        raise argparse.ArgumentTypeError("shard ids are whole numbers, e.g. 0,1") from e
    if not ids or min(ids) < 0:
        raise argparse.ArgumentTypeError("shard ids are whole numbers ≥ 0, e.g. 0,1")
    return ids


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if args.command == "analyze":
        # `analyze` is a function of its input and the shipped lexicon and model alone: it reads
        # no settings, so it neither loads them (the settings module, its validation library and
        # logging set-up are a third of its start-up) nor stops on a broken settings file.
        return _guarded(_analyze, args)
    # Imported here: `analyze` (above) does without it.
    from bot.config import load_settings

    try:
        settings = load_settings(args.config)
    except ConfigError as e:
        _say(e)
        return EXIT_USAGE
    from bot.logsafe import setup_logging

    setup_logging(settings)
    return _guarded(_command, args, settings)


def _command(args: argparse.Namespace, settings: Settings) -> int:
    if args.command in ("run", "worker", "poll", "feeds"):
        # These read the feeds file: a bad one stops them before anything is opened.
        _check_feeds_file(settings)
    if args.command == "health":
        return _health(settings)
    import asyncio  # not before: `health` and `analyze` need no event loop

    return asyncio.run(_dispatch(args, settings))


def _say(error: Exception) -> None:
    """``error`` as the one line ``warta`` stops with, secrets masked."""
    # Imported here: the masking module pulls in asyncio, which `analyze` does without.
    from bot.logsafe import mask_secrets

    print(f"warta: {mask_secrets(str(error))}", file=sys.stderr)


def _guarded(command: Callable[..., int], *args: Any) -> int:
    """``command(*args)``'s exit code, or the one for the error it stopped on (one line)."""
    try:
        return command(*args)
    except ConfigError as e:
        _say(e)
        return EXIT_USAGE
    except WartaError as e:
        _say(e)
        return 1
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:
        # `warta stories | head`: the reader left. Point stdout at devnull so the interpreter's
        # final flush does not raise again, and exit like other Unix tools (128 + SIGPIPE).
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141


def _check_feeds_file(settings: Settings) -> None:
    from bot.config import load_feeds_file

    if Path(settings.feeds_file).exists():
        load_feeds_file(settings.feeds_file)


def _health(settings: Settings) -> int:
    """Exit 0 while `warta run` beats and every adapter is up (or down for less than
    ``adapter_down_unhealthy_s``); print each adapter's state either way."""
    from bot.health import judge

    verdict = judge(
        Path(settings.heartbeat_file),
        now=datetime.now(UTC),
        down_limit_s=settings.adapter_down_unhealthy_s,
    )
    print("\n".join(verdict.lines), file=sys.stdout if verdict.healthy else sys.stderr)
    return 0 if verdict.healthy else 1


def _analyze(args: argparse.Namespace) -> int:
    from bot.analyze import analyze_lines

    if args.input == "-":
        lines = sys.stdin
        for out in analyze_lines(lines, all_bullets=not args.lazy_bullets):
            print(out, flush=False)
        return 0
    path = Path(args.input)
    if path.is_dir():
        print(f"warta: {path} is a directory; give a JSON-lines file or -", file=sys.stderr)
        return EXIT_USAGE
    try:
        with path.open(encoding="utf-8", errors="replace") as fh:
            for out in analyze_lines(fh, all_bullets=not args.lazy_bullets):
                print(out)
    except FileNotFoundError:
        print(f"warta: no such file: {path}", file=sys.stderr)
        return EXIT_USAGE
    except OSError as e:
        print(f"warta: cannot read {path}: {e.strerror or e}", file=sys.stderr)
        return EXIT_USAGE
    return 0


async def _dispatch(args: argparse.Namespace, settings: Settings) -> int:
    if args.command == "demo":
        from bot.demo import run_demo

        return await run_demo(settings, langs=args.lang or ["id", "en"])
    if args.command == "inspect":
        return await _inspect(args, settings)
    if args.command in ("run", "worker", "sender", "gateway"):
        from bot.roles import plan_for
        from bot.runner import run_role

        if args.command == "gateway":
            import dataclasses

            shards: dict[str, Any] = {}
            if args.shard_count is not None:
                shards["discord_shard_count"] = args.shard_count
            if args.shard_ids is not None:
                shards["discord_shard_ids"] = args.shard_ids
            if shards:
                settings = dataclasses.replace(settings, **shards)
        plan = plan_for(
            args.command,
            platform=getattr(args, "platform", None),
            poll=not getattr(args, "no_poll", False),
        )
        return await run_role(settings, plan)
    if args.command == "web":
        from bot.web.server import serve_forever

        return await serve_forever(
            settings,
            host=args.host or settings.web_host,
            port=settings.web_port if args.port is None else args.port,
        )

    from bot.app import App

    async with await App.open(settings) as app:
        if args.command == "poll":
            return await _poll(app, once=args.once, everything=args.all)
        if args.command == "deliver":
            return await _deliver(app, once=args.once, dry_run=args.dry_run)
        if args.command == "digest":
            return await _digest(app, args)
        if args.command == "feeds":
            return await _feeds(app, args)
        if args.command == "stories":
            return await _stories(app, args)
    raise AssertionError(f"unhandled command {args.command}")


async def _poll(app: Any, *, once: bool, everything: bool) -> int:
    import asyncio

    added = await app.sync_feeds_file()
    if added:
        print(f"added {added} feeds from {app.settings.feeds_file}", file=sys.stderr)
    if everything:
        await app.store.make_feeds_due(datetime.now(UTC))
    # Feeds are claimed as polling slots free up: --once polls every feed due at the start
    # (however many), without --once the poll goes on, sleeping until the next feed is due.
    pacer = app.pacer()
    if not once:
        app.wake_on_due_feeds(pacer)  # a feed added meanwhile is polled at once
    from bot.app import settle_heap

    # Start-up is over (a long-running poll: as warta run). A --once cycle too: its full
    # collections would otherwise walk every start-up object again, ~3 % of a cycle's CPU.
    settle_heap()
    report = await (pacer.run_once() if once else pacer.run_forever(asyncio.Event()))
    print(
        f"polled {report.feeds} feeds: {report.fetched} fetched, "
        f"{report.not_modified} not modified, {report.failed} failed, "
        f"{len(report.new_stories)} new stories, {report.baseline_stories} baseline",
        file=sys.stderr,
    )
    for url, error in sorted(report.errors.items()):
        print(f"  {url}: {error}", file=sys.stderr)
    return 0


async def _deliver(app: Any, *, once: bool, dry_run: bool) -> int:
    import asyncio

    from bot.deliver_once import deliver_once, open_senders
    from bot.runner import Composer, make_summarizer

    summarizer = make_summarizer(app.settings)
    closing = getattr(summarizer, "aclose", None)
    if closing is not None:
        app.defer_close(closing)
    compose = Composer(app, summarizer)
    adapters = {} if dry_run else await open_senders(app, summarizer)
    try:
        while True:
            await deliver_once(app, compose, adapters, dry_run=dry_run)
            if once or dry_run:
                return 0
            await asyncio.sleep(30)
    finally:
        for adapter in adapters.values():
            await adapter.stop()


async def _digest(app: Any, args: argparse.Namespace) -> int:
    from bot.digest import compose_digest
    from bot.render.console import render_digest

    end = datetime.now(UTC)
    lang = args.lang or app.settings.default_lang
    digest = await compose_digest(
        app.store,
        lang=lang,
        start=end - args.since,
        end=end,
        tz=app.settings.timezone,
        keywords=tuple(args.keywords.split()),
        max_stories=args.max_stories or app.settings.digest_max_stories,
        scorer=app.scorer,
        other_languages=app.settings.digest_other_languages,
    )
    sys.stdout.write(render_digest(digest))
    return 0


async def _feeds(app: Any, args: argparse.Namespace) -> int:
    from bot.feeds.opml import to_opml
    from bot.models import Feed

    store = app.store
    if args.action == "list":
        await app.sync_feeds_file()
        for feed in await store.list_feeds():
            state = "disabled: " + feed.disabled_reason if feed.disabled_reason else "ok"
            if not feed.disabled_reason and feed.failures:
                state = f"{feed.failures} failures, last: {feed.last_error}"
            checked = (
                feed.last_checked_at.isoformat(timespec="minutes")
                if feed.last_checked_at
                else "never"
            )
            print(
                f"{feed.url}\t{feed.lang or '-'}\t{feed.title or '-'}\tchecked {checked}\t{state}"
            )
        return 0
    if args.action == "add":
        if not args.url.startswith(("http://", "https://")):
            print("warta: a feed URL must start with http:// or https://", file=sys.stderr)
            return EXIT_USAGE
        existing = await store.get_feed(args.url)
        if existing is None:
            feed = await store.add_feed(
                Feed(
                    url=args.url,
                    lang=args.lang,
                    title=args.title,
                    interval_s=app.settings.poll_interval_s,
                )
            )
            print(f"added {feed.url}")
            return 0
        # Adding a known feed again changes only what the command names.
        if args.lang is not None:
            existing.lang = args.lang
        await store.add_feed(existing)
        if args.title is not None and args.title != existing.title:
            existing.title = args.title
            await store.save_feeds([existing])
        print(
            f"updated {existing.url} (language {existing.lang or 'detected per story'}, "
            f"title {existing.title or '-'})"
        )
        return 0
    if args.action == "remove":
        from bot.config import load_feeds_file

        listed = Path(app.settings.feeds_file)
        if listed.exists() and any(s.url == args.url for s in load_feeds_file(listed)):
            # Removing it from the database alone would not last: the next poll re-adds
            # every feed of the feeds file.
            print(
                f"warta: {args.url} is listed in {listed}; remove it there "
                "(it would be added again on the next poll)",
                file=sys.stderr,
            )
            return 1
        if await store.remove_feed(args.url):
            print(f"removed {args.url}")
            return 0
        print(f"warta: no such feed: {args.url}", file=sys.stderr)
        return 1
    if args.action == "import":
        from bot.feeds.opml import read_opml

        try:
            data = Path(args.path).read_bytes()
        except OSError as e:
            print(f"warta: cannot read {args.path}: {e.strerror or e}", file=sys.stderr)
            return EXIT_USAGE
        specs, skipped = read_opml(data)
        known = {f.url for f in await store.list_feeds()}
        for spec in specs:
            if spec.url in known:
                skipped.append((spec.title or spec.url, "already a feed"))
        new_specs = [s for s in specs if s.url not in known]
        # One transaction for the whole file: 10,000 feeds in one batch, not one commit each.
        await store.add_feeds(
            [
                Feed(
                    url=spec.url,
                    lang=spec.lang,
                    title=spec.title,
                    interval_s=app.settings.poll_interval_s,
                )
                for spec in new_specs
            ]
        )
        for label, reason in skipped:
            print(f"skipped {label}: {reason}", file=sys.stderr)
        print(f"imported {len(new_specs)} feeds, skipped {len(skipped)}")
        return 0
    if args.action == "export":
        data = to_opml(await store.list_feeds())
        if args.path == "-":
            sys.stdout.buffer.write(data)
            return 0
        try:
            Path(args.path).write_bytes(data)
        except OSError as e:
            print(f"warta: cannot write {args.path}: {e.strerror or e}", file=sys.stderr)
            return EXIT_USAGE
        print(f"exported {data.count(b'<outline')} feeds to {args.path}", file=sys.stderr)
        return 0
    raise AssertionError(args.action)


def _story_json(story: Any) -> dict[str, Any]:
    return {
        "id": story.id,
        "key": story.key,
        "url": story.url,
        "title": story.title,
        "source": story.source,
        "lang": story.lang,
        "published": story.published.isoformat() if story.published else None,
        "relevance": story.relevance,
        "matched": list(story.matched),
        "bullets": list(story.bullets),
        "feed": story.feed_url,
    }


async def _stories(app: Any, args: argparse.Namespace) -> int:
    end = datetime.now(UTC)
    stories = await app.store.stories_between(end - args.since, end, limit=1000)
    for story in stories:
        if not args.all and not app.scorer.score(story.title, story.text, story.lang).relevant:
            continue
        if args.json:
            print(json.dumps(_story_json(story), ensure_ascii=False))
        else:
            score = story.relevance or 0.0
            print(f"#{story.id}\t{story.lang}\t{score:.2f}\t{story.source}\t{story.title}")
    return 0


INSPECT_TEXT_MAX = 2000


def _inspect_json(story: Any, analysis: Any) -> dict[str, Any]:
    """One story as a poll computes and stores it (the `warta inspect` contract, see README)."""
    from bot.feeds.parse import cap_text

    guess = story.lang_guess
    return {
        "key": story.key,
        "url": story.url,
        "title": story.title,
        "source": story.source,
        "text": cap_text(story.text, INSPECT_TEXT_MAX),
        "lang": story.lang,
        "lang_confidence": round(guess.confidence, 3) if guess is not None else None,
        "lang_by": guess.by if guess is not None else None,
        "published": story.published.isoformat() if story.published else None,
        "relevance": round(analysis.topic.score, 4),
        "relevant": analysis.topic.relevant,
        "matched": list(analysis.topic.matched),
        "bullets": list(analysis.summary.bullets),
        "feed": story.feed_url,
    }


async def _inspect(args: argparse.Namespace, settings: Settings) -> int:
    """Parse feeds exactly as a poll would and print one JSON line per story; store nothing.

    Exit 0 when every input was read and parsed, 1 when any was not (its line says why).
    """
    from bot.analyze import analyze, default_scorer, judge_story_lang
    from bot.errors import FeedError
    from bot.feeds.fetch import Fetcher
    from bot.feeds.normalize import to_story
    from bot.feeds.parse import parse_feed

    if not args.urls and not args.files:
        print("warta inspect: give at least one URL or --file PATH", file=sys.stderr)
        return EXIT_USAGE
    scorer = default_scorer(settings.topics_file)
    failed = 0

    def emit(body: bytes, origin: dict[str, str], url: str, headers: dict[str, str] | None) -> None:
        parsed = parse_feed(body, url=url, headers=headers)
        source = parsed.title or origin.get("source_url") or origin.get("file") or "?"
        shown = 0
        for entry in parsed.entries:
            story = to_story(
                entry,
                feed_url=url,
                source=source,
                lang_hint=None,
                detect_lang=judge_story_lang,
                base_url=parsed.link,
            )
            if story is None:
                continue
            analysis = analyze(story.title, story.text, lang=story.lang, scorer=scorer)
            out = _inspect_json(story, analysis) | origin | {"parser": parsed.parser}
            print(json.dumps(out, ensure_ascii=False), flush=False)
            shown += 1
        if shown < len(parsed.entries):
            where = origin.get("source_url") or origin.get("file")
            skipped = len(parsed.entries) - shown
            print(
                f"warta inspect: {where}: {skipped} of {len(parsed.entries)} entries skipped "
                "(no title and text, or no http(s) link)",
                file=sys.stderr,
            )

    for path in args.files:
        origin = {"file": path}
        try:
            p = Path(path)
            if p.is_dir():
                raise FeedError("is a directory, not a feed file")
            if p.stat().st_size > settings.fetch_max_bytes:
                raise FeedError(f"file larger than {settings.fetch_max_bytes} bytes")
            emit(p.read_bytes(), origin, p.resolve().as_uri(), None)
        except FileNotFoundError:
            failed += 1
            print(json.dumps(origin | {"error": "no such file"}, ensure_ascii=False))
        except (OSError, FeedError) as e:
            failed += 1
            reason = e.strerror if isinstance(e, OSError) and e.strerror else str(e)
            print(json.dumps(origin | {"error": reason}, ensure_ascii=False))
    if args.urls:
        # The operator's own command on the operator's own URLs: a self-hosted bridge on
        # loopback or the LAN is what it is often pointed at. The address guard is for URLs
        # that come from chats (feeds added by chat admins, /summary).
        async with Fetcher(
            timeout_s=settings.fetch_timeout_s,
            max_bytes=settings.fetch_max_bytes,
            allow_private=True,
            allow_loopback=True,
        ) as fetcher:
            for url in args.urls:
                # Not "url": that key is the story's own link.
                origin = {"source_url": url}
                try:
                    result = await fetcher.fetch(url)
                    if result.body is None:
                        raise FeedError(f"HTTP {result.status} without a body", url=url)
                    emit(result.body, origin, result.final_url, result.headers)
                except FeedError as e:
                    failed += 1
                    print(json.dumps(origin | {"error": str(e)}, ensure_ascii=False))
    sys.stdout.flush()
    return 1 if failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
