"""Generated story sets for the fan-out bench and the clustering differential test.

The base is the project's own labeled cluster items (``tests/data/cluster_items.jsonl``: ~40
AI-and-artists reports, Indonesian and English, several outlets per event). Each generated
story is one base item re-told by another outlet: sentences dropped and reordered, the title
trimmed, the time moved by up to a day. So a set holds real clusters (the copies of one item)
next to hard negatives (other events of the same topic), as a digest window does.
"""

from __future__ import annotations

import random
import re
from dataclasses import dataclass
from datetime import datetime, timedelta

from bench.topic_eval import cluster_items_path, read_jsonl

_SENTENCE = re.compile(r"(?<=[.!?])\s+")


@dataclass(frozen=True, slots=True)
class GenStory:
    title: str
    text: str
    lang: str
    source: str
    published: datetime
    event: str


def generated_stories(n: int, *, seed: int, end: datetime) -> list[GenStory]:
    """``n`` stories published in the 24 h before ``end``, deterministic for a seed."""
    rng = random.Random(seed)
    base = read_jsonl(cluster_items_path())
    out: list[GenStory] = []
    for i in range(n):
        item = base[i % len(base)] if i < len(base) else rng.choice(base)
        sentences = [s for s in _SENTENCE.split(item["text"].strip()) if s]
        if i >= len(base) and len(sentences) > 2:
            keep = rng.sample(range(len(sentences)), k=max(2, len(sentences) - rng.randint(0, 2)))
            sentences = [sentences[k] for k in sorted(keep)]
            if rng.random() < 0.3:
                sentences[0], sentences[-1] = sentences[-1], sentences[0]
        words = item["title"].split()
        title = (
            " ".join(words[: max(4, len(words) - rng.randint(0, 2))])
            if i >= len(base)
            else item["title"]
        )
        out.append(
            GenStory(
                title=title,
                text=" ".join(sentences),
                lang=item["lang"],
                source=f"{item['source']} {i}" if i >= len(base) else item["source"],
                published=end - timedelta(minutes=rng.randint(1, 24 * 60 - 1)),
                event=item["event"],
            )
        )
    return out
