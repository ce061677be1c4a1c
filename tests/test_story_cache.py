"""/story on a story stored without bullets (ingest summarizes only stories that can reach a
chat): the quick facts are made on demand and cached back to the store."""

from __future__ import annotations

from bot.store import SQLStore
from tests.test_commands import make_core, run, store

__all__ = ["store"]  # the command tests' store fixture: four stories, stored without bullets


async def test_story_summarizes_on_demand_and_caches(store: SQLStore) -> None:
    (flood,) = await store.search("Banjir")
    assert flood.id is not None
    assert flood.bullets == ()
    reply = await run(make_core(store), "story", f"#{flood.id}", locale="id")
    shown = [line[2:] for line in reply.text.splitlines() if line.startswith("• ")]
    assert shown
    cached = await store.get_story(flood.id)
    assert cached is not None
    assert list(cached.bullets) == shown
    again = await run(make_core(store), "story", f"#{flood.id}", locale="id")
    assert again.text == reply.text
