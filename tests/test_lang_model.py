"""The cut-down language model (bot/lang/model.py): the same answers as py3langid's full model
restricted to id/ms/en, a few MB instead of ~86, and every dev-corpus story right."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bot.lang.detect import LANGS, _get_identifier, detect_lang
from bot.lang.model import (
    SHIPPED,
    CompactIdentifier,
    cut_down,
    load_compact,
    read_compact,
    source_digest,
    write_compact,
)

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


def test_words_walked_once_then_looked_up_give_the_same_scores(full: object) -> None:
    """classify walks each (state, word) step once and looks it up after: a warm identifier
    scores exactly as py3langid does, whatever the spacing, the word lengths (long words are
    walked every time) and the context a word comes in."""
    import random

    rnd = random.Random(8)
    words = " ".join(t for _, t in _texts(DATA / "topic_cases.jsonl")).encode("ascii", "ignore")
    vocab = words.decode().split()
    seps = [" ", " ", " ", "  ", "\n", "\t", " - ", ", ", "   "]
    texts = ["", " ", "  leading and trailing  ", "x" * 60 + " the " + "y" * 30]
    for _ in range(150):
        n = rnd.randint(1, 60)
        texts.append("".join(rnd.choice(vocab) + rnd.choice(seps) for _ in range(n)))
    warm = load_compact(LANGS)  # its own, empty memo
    assert not warm.steps
    for round_ in range(2):  # cold, then with every word's step memoized
        for text in texts:
            if not text.strip():
                continue
            lang, conf = full.classify(text)  # type: ignore[attr-defined]
            got = warm.classify(text)
            assert got[0] == lang, (round_, text)
            assert got[1] == pytest.approx(float(conf), rel=1e-5), (round_, text)
    assert len(warm.steps) > 500


@pytest.mark.corpus
@pytest.mark.parametrize("corpus", ["summaries", "topics"])
def test_every_dev_corpus_story_is_identified(corpus: str, shared_dir: Path) -> None:
    records = _texts(shared_dir / "corpora" / corpus / "dev.jsonl")
    wrong = [(gold, text[:80]) for gold, text in records if detect_lang(text) != gold]
    assert wrong == []
    assert len(records) >= 70


def _same_model(a: CompactIdentifier, b: CompactIdentifier) -> bool:
    return (
        a.langs == b.langs
        and a.rows == b.rows
        and a.row_base == b.row_base
        and a.output == b.output
        and a.byte_class == b.byte_class
        and a.weights.dtype == b.weights.dtype
        and bool((a.weights == b.weights).all())
        and bool((a.prior == b.prior).all())
    )


def test_shipped_cut_is_the_installed_py3langid_cut_down() -> None:
    """The shipped file is what cutting the installed py3langid down gives, so a process
    that loads it answers as one that cuts the model itself (after a py3langid upgrade:
    `python -m bot.lang.model`)."""
    shipped = read_compact(SHIPPED, source=source_digest())
    assert shipped is not None, "shipped cut is stale: run python -m bot.lang.model"
    assert _same_model(shipped, cut_down(LANGS))
    assert _same_model(load_compact(LANGS), shipped)


def test_a_cut_from_another_py3langid_file_is_not_used(tmp_path: Path) -> None:
    path = tmp_path / "cut.npz"
    model = _get_identifier()
    write_compact(model, path, source="0" * 64)
    assert read_compact(path, source=source_digest()) is None
    again = read_compact(path, source="0" * 64)
    assert again is not None
    assert _same_model(again, model)
    assert again.classify("The artists said the studio went too far.") == model.classify(
        "The artists said the studio went too far."
    )
    assert read_compact(tmp_path / "missing.npz", source="0" * 64) is None
