"""The cut-down language model (bot/lang/model.py): the same answers as py3langid's full model
restricted to id/ms/en, a few MB instead of ~86, and every dev-corpus story right."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.lang.detect import LANGS, _get_identifier, detect_lang

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def full() -> object:
    """py3langid's own identifier on its full model, restricted to the same languages."""
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    ident.set_languages(list(LANGS))
    return ident


def _texts(path: Path) -> list[tuple[str, str]]:
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        if line.strip():
            r = json.loads(line)
            out.append((r["lang"], f"{r.get('title') or ''}\n{r.get('text') or ''}"))
    return out


def test_model_is_a_few_megabytes() -> None:
    assert _get_identifier().nbytes < 8 * 2**20


def test_same_answers_as_the_full_model(full: object) -> None:
    """Exactly py3langid's scores on ASCII text; the same language on news text with quotes
    and dashes (a very short non-ASCII text, where the forgotten n-grams weigh most, may
    differ)."""
    compact = _get_identifier()
    texts = [t for _, t in _texts(DATA / "topic_cases.jsonl")]
    texts += [
        "Polis berkata suspek ditahan.",
        "AI ART",
        "x",
        "Para seniman “menolak” karya AI – kata mereka, itu bukan seni, ujarnya kepada wartawan.",
        "The artists’ union said the studio’s AI policy — announced on Monday — went too far.",
    ]
    ascii_seen = 0
    for text in texts:
        sample = text[:3000]
        lang, conf = full.classify(sample)  # type: ignore[attr-defined]
        got = compact.classify(sample)
        assert got[0] == lang, text
        if sample.isascii():
            ascii_seen += 1
            assert got[1] == pytest.approx(float(conf), rel=1e-5), text
        else:
            assert got[1] == pytest.approx(float(conf), abs=0.05), text
    assert ascii_seen >= 3


@pytest.mark.corpus
@pytest.mark.parametrize("corpus", ["summaries", "topics"])
def test_every_dev_corpus_story_is_identified(corpus: str, shared_dir: Path) -> None:
    records = _texts(shared_dir / "corpora" / corpus / "dev.jsonl")
    wrong = [(gold, text[:80]) for gold, text in records if detect_lang(text) != gold]
    assert wrong == []
    assert len(records) >= 70


def test_rows_sharing_a_hash_still_load_the_same_model(monkeypatch: pytest.MonkeyPatch) -> None:
    """The loader tells transition rows apart by a hash and checks it: with a hash under
    which many different rows collide, the model still gives the same answers."""
    import numpy as np

    from bot.lang import model

    texts = [t for _, t in _texts(DATA / "topic_cases.jsonl")][:40]
    monkeypatch.setattr(model, "_ROW_HASH", np.ones_like(model._ROW_HASH))
    collided = model.load_compact(LANGS)
    compact = _get_identifier()
    assert collided.nbytes == compact.nbytes
    assert [collided.classify(t) for t in texts] == [compact.classify(t) for t in texts]
