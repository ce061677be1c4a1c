"""py3langid's model, cut down at first load to what telling id, ms and en apart needs.

py3langid ships one naive Bayes model for 142 languages: a byte-level automaton of 104,583
states (a 256-way transition table, 39 MB once loaded) that finds its 100,053 byte n-gram
features, and a feature x language weight table (28 MB). Warta asks it about three languages
written in Latin script, so at first load we keep:

* the three languages' columns of the weight table (float32, as py3langid computes in);
* the automaton states whose n-gram is plain ASCII: exactly the states an ASCII text can reach,
  found by a breadth-first walk over the ASCII columns, with their transitions renumbered and
  identical rows shared; any other byte sends the walk back to the start state, as if the text
  began again after it (news text in these languages is ASCII but for quotes and dashes);
* only the features those states emit.

For an ASCII text the walk, the features and so the scores are exactly py3langid's; a non-ASCII
byte only forgets the n-grams that span it. The result holds ~5 MB instead of ~86 MB; loading
still reads py3langid's file (~2 s, once per process), and nothing is downloaded or written.
"""

from __future__ import annotations

import math
import unicodedata
from array import array
from collections import Counter
from dataclasses import dataclass
from typing import Any

import numpy as np

__all__ = ["CompactIdentifier", "load_compact"]

_KEPT_BYTES = 128  # ASCII


@dataclass(frozen=True, slots=True)
class CompactIdentifier:
    """``classify`` as py3langid's ``LanguageIdentifier(norm_probs=True)`` restricted to
    ``langs``. Immutable; safe to share between threads."""

    langs: tuple[str, ...]
    rows: array[int]  # distinct transition rows, _KEPT_BYTES + 1 entries each (last: other bytes)
    row_base: array[int]  # state -> offset of its row in ``rows``
    output: array[int]  # state -> feature index, or -1
    weights: Any  # numpy float32 (features, langs)
    prior: Any  # numpy float32 (langs,)
    byte_class: bytes  # translation table: byte -> column (other bytes -> _KEPT_BYTES)

    @property
    def nbytes(self) -> int:
        """Bytes held by the model's arrays."""
        arrays = (self.rows, self.row_base, self.output)
        held = sum(a.itemsize * len(a) for a in arrays)
        return held + int(self.weights.nbytes) + int(self.prior.nbytes)

    def classify(self, text: str) -> tuple[str, float]:
        """``(language, probability)`` of ``text`` among ``langs``."""
        # py3langid's own encoding: all-caps text is lowered, NFC, UTF-8.
        if text.isupper():
            text = text.lower()
        data = unicodedata.normalize("NFC", text).encode("utf8", errors="surrogatepass")
        nm, base, out = self.rows, self.row_base, self.output
        state = 0
        found: list[int] = []
        for c in data.translate(self.byte_class):
            state = nm[base[state] + c]
            f = out[state]
            if f >= 0:
                found.append(f)
        if found:
            visits = Counter(found)
            idx = np.fromiter(visits.keys(), dtype=np.intp, count=len(visits))
            counts = np.fromiter(visits.values(), dtype=np.float32, count=len(visits))
            scores = np.log1p(counts) @ self.weights[idx] + self.prior
        else:
            scores = np.zeros(len(self.langs), dtype=np.float32)
        # py3langid's calibration: temperature sqrt(bytes), then softmax.
        scores *= 1.0 / math.sqrt(len(data) or 1)
        np.exp(scores - scores.max(), out=scores)
        scores /= scores.sum()
        i = int(scores.argmax())
        return self.langs[i], float(scores[i])


def _uint(a: array[int]) -> Any:
    return np.frombuffer(a, dtype={2: np.uint16, 4: np.uint32, 8: np.uint64}[a.itemsize])


def load_compact(langs: tuple[str, ...]) -> CompactIdentifier:
    """Read py3langid's packaged model and keep the part ``langs`` need (see module doc).

    Raises ValueError when py3langid does not know one of ``langs``."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE
    from py3langid.modelio import load_model

    ptc, pc, classes, nextmove, row_of, out = load_model(MODEL_DIR / MODEL_FILE)
    unknown = set(langs) - set(classes)
    if unknown:
        raise ValueError(f"py3langid does not know {sorted(unknown)}")
    # In the model's order, as py3langid keeps them: a tie (a text with no feature) goes to the
    # first, and that must be the same language as before.
    cols = sorted(classes.index(lang) for lang in langs)
    langs = tuple(classes[c] for c in cols)
    table = _uint(nextmove).reshape(-1, 256)[:, :_KEPT_BYTES]
    row_of_state = _uint(row_of)
    del nextmove, row_of

    # States an ASCII text can reach: those whose n-gram is ASCII (a prefix-closed set).
    seen = np.zeros(len(row_of_state), dtype=bool)
    seen[0] = True
    frontier = np.zeros(1, dtype=np.int64)
    while len(frontier):
        nxt = np.unique(table[row_of_state[frontier]])
        nxt = nxt[~seen[nxt]]
        seen[nxt] = True
        frontier = nxt.astype(np.int64)
    kept = np.flatnonzero(seen)  # sorted: the start state 0 stays 0
    new_id = np.zeros(len(row_of_state), dtype=np.int64)
    new_id[kept] = np.arange(len(kept))
    dtype = np.uint16 if len(kept) < 1 << 16 else np.uint32
    moves = np.zeros((len(kept), _KEPT_BYTES + 1), dtype=dtype)  # last column: back to 0
    moves[:, :_KEPT_BYTES] = new_id[table[row_of_state[kept]]]
    del table, row_of_state, seen, new_id
    # Share identical rows (as py3langid's file does): about three states per row.
    packed = np.ascontiguousarray(moves).view(np.dtype((np.void, moves.shape[1] * moves.itemsize)))
    _, first, inverse = np.unique(packed.ravel(), return_index=True, return_inverse=True)
    rows = moves[first]
    del moves, packed

    old_out = np.asarray(out, dtype=np.int64)[kept]
    del out
    features = np.unique(old_out[old_out >= 0])
    feature_id = np.full(int(features.max()) + 1 if len(features) else 1, -1, dtype=np.int64)
    feature_id[features] = np.arange(len(features))
    output = np.where(old_out >= 0, feature_id[np.maximum(old_out, 0)], -1)
    weights = np.ascontiguousarray(np.asarray(ptc)[features][:, cols], dtype=np.float32)
    prior = np.asarray(pc, dtype=np.float32)[cols]
    del ptc, pc

    byte_class = bytes(b if b < _KEPT_BYTES else _KEPT_BYTES for b in range(256))
    return CompactIdentifier(
        langs=tuple(langs),
        rows=array(rows.dtype.char, rows.tobytes()),
        row_base=array("I", (inverse.ravel() * (_KEPT_BYTES + 1)).astype(np.uint32).tobytes()),
        output=array("i", output.astype(np.int32).tobytes()),
        weights=weights,
        prior=prior,
        byte_class=byte_class,
    )
