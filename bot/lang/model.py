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
byte only forgets the n-grams that span it. The result holds ~5 MB instead of ~86 MB.

Cutting it down means decompressing py3langid's whole file (~0.7 s of CPU, more than `warta
analyze` then spends on 1,000 stories), so the cut-down model ships with the package
(``data/langid-id-ms-en.npz``, 0.8 MB) together with the SHA-256 of the py3langid file it was
cut from. A process loads it in ~10 ms when that digest matches the installed py3langid, and
cuts the model down itself otherwise (another py3langid release), so an answer never depends
on which path ran. Nothing is downloaded or written at run time; ``python -m bot.lang.model``
rewrites the shipped file after a py3langid upgrade.
"""

from __future__ import annotations

import hashlib
import math
import unicodedata
from array import array
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from bot.lang.memo import MEMO_MAX

__all__ = ["CompactIdentifier", "load_compact"]

_KEPT_BYTES = 128  # ASCII
_CHUNK = 4096  # states per step when renumbering transitions
SHIPPED = Path(__file__).with_name("data") / "langid-id-ms-en.npz"
_SHIPPED_LANGS = ("id", "ms", "en")
_FORMAT = 1  # of the shipped file; a reader of another format cuts the model down itself


@dataclass(frozen=True, slots=True)
class CompactIdentifier:
    """``classify`` as py3langid's ``LanguageIdentifier(norm_probs=True)`` restricted to
    ``langs``. The model arrays never change and the step memo only caches what they give:
    safe to share between threads."""

    langs: tuple[str, ...]
    rows: array[int]  # distinct transition rows, _KEPT_BYTES + 1 entries each (last: other bytes)
    row_base: array[int]  # state -> offset of its row in ``rows``
    output: array[int]  # state -> feature index, or -1
    weights: Any  # numpy float32 (features, langs)
    prior: Any  # numpy float32 (langs,)
    byte_class: bytes  # translation table: byte -> column (other bytes -> _KEPT_BYTES)
    # (state, word) -> (the features the walk emits over the word and the space after it, the
    # state it ends in): see _features. Filled as texts are classified; never changes an answer.
    steps: dict[tuple[int, bytes], tuple[tuple[int, ...], int]] = field(
        default_factory=dict, compare=False, repr=False
    )

    @property
    def nbytes(self) -> int:
        """Bytes held by the model's arrays."""
        arrays = (self.rows, self.row_base, self.output)
        held = sum(a.itemsize * len(a) for a in arrays)
        return held + int(self.weights.nbytes) + int(self.prior.nbytes)

    def _walk(self, data: bytes, state: int, found: list[int]) -> int:
        """Walk the automaton over ``data`` (translated by ``byte_class``) from ``state``,
        appending the features it emits to ``found``; the state it ends in."""
        nm, base, out = self.rows, self.row_base, self.output
        for c in data:
            state = nm[base[state] + c]
            f = out[state]
            if f >= 0:
                found.append(f)
        return state

    def _features(self, data: bytes) -> list[int]:
        """The features the walk over ``data`` (translated) emits, in order.

        The walk cost ~0.25 µs a byte in Python, most of a classification. News repeats its
        words, and what the walk emits over a word and the space after it depends only on the
        state it enters the word in (the last few bytes before it: the automaton's n-grams are
        at most four bytes long) and on the word: so each (state, word) step is walked once and
        then looked up, ~4x cheaper a text, with exactly the features in the same order."""
        steps = self.steps
        if len(steps) > MEMO_MAX:  # a full memo starts over
            steps.clear()
        found: list[int] = []
        state = 0
        words = data.split(b" ")
        last = words.pop()
        for word in words:
            step = steps.get((state, word))
            if step is None:
                if len(word) > _STEP_WORD_MAX:
                    state = self._walk(word + b" ", state, found)
                    continue
                emitted: list[int] = []
                end = self._walk(word + b" ", state, emitted)
                step = steps[state, word] = (tuple(emitted), end)
            found.extend(step[0])
            state = step[1]
        self._walk(last, state, found)
        return found

    def classify(self, text: str) -> tuple[str, float]:
        """``(language, probability)`` of ``text`` among ``langs``."""
        # py3langid's own encoding: all-caps text is lowered, NFC, UTF-8.
        if text.isupper():
            text = text.lower()
        data = unicodedata.normalize("NFC", text).encode("utf8", errors="surrogatepass")
        found = self._features(data.translate(self.byte_class))
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


# Words longer than this (URLs, runs of non-Latin text) are walked byte by byte, not memoized.
_STEP_WORD_MAX = 24


def load_compact(langs: tuple[str, ...]) -> CompactIdentifier:
    """The part of py3langid's packaged model ``langs`` need (see module doc): the shipped
    cut when it was made from the installed py3langid for these languages, else cut now.

    Raises ValueError when py3langid does not know one of ``langs`` or its model file has
    another layout."""
    if langs == _SHIPPED_LANGS:
        shipped = read_compact(SHIPPED, source=source_digest())
        if shipped is not None:
            # Unpacking passes through ~12 MB of buffers that glibc would otherwise keep.
            _give_back_freed_memory()
            return shipped
    return cut_down(langs)


def cut_down(langs: tuple[str, ...]) -> CompactIdentifier:
    """Cut py3langid's packaged model down to ``langs`` now (~0.7 s of CPU)."""
    model = _build(langs)
    _give_back_freed_memory()  # after _build's locals are gone
    return model


def source_digest() -> str:
    """SHA-256 of py3langid's model file: which model a shipped cut was made from."""
    from py3langid.langid import MODEL_DIR, MODEL_FILE

    with (MODEL_DIR / MODEL_FILE).open("rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


_ARRAYS = ("rows", "row_base", "output")


def write_compact(model: CompactIdentifier, path: Path, *, source: str) -> None:
    """Save ``model`` (cut from the py3langid file with digest ``source``) for ``read_compact``."""

    def packed(a: array[int]) -> Any:
        return np.frombuffer(a, dtype=a.typecode)

    with path.open("wb") as fh:
        np.savez_compressed(
            fh,
            format=np.array(_FORMAT),
            source=np.array(source),
            langs=np.array(model.langs),
            weights=model.weights,
            prior=model.prior,
            byte_class=np.frombuffer(model.byte_class, dtype=np.uint8),
            rows=packed(model.rows),
            row_base=packed(model.row_base),
            output=packed(model.output),
        )


def _stdlib_array(values: Any) -> array[int]:
    out = array(values.dtype.char)
    out.frombytes(memoryview(values).cast("B"))  # from numpy's buffer, no bytes copy between
    return out


def read_compact(path: Path, *, source: str) -> CompactIdentifier | None:
    """The model ``write_compact`` saved at ``path``, or None when there is none, it has
    another format, or it was cut from another py3langid file than ``source``."""
    try:
        data = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        return None
    with data:
        if int(data["format"]) != _FORMAT or str(data["source"]) != source:
            return None
        return CompactIdentifier(
            langs=tuple(str(lang) for lang in data["langs"].tolist()),
            rows=_stdlib_array(data["rows"]),
            row_base=_stdlib_array(data["row_base"]),
            output=_stdlib_array(data["output"]),
            weights=np.ascontiguousarray(data["weights"], dtype=np.float32),
            prior=np.asarray(data["prior"], dtype=np.float32),
            byte_class=data["byte_class"].tobytes(),
        )


def _read_arrays(names: tuple[str, ...]) -> dict[str, Any]:
    """The named arrays of py3langid's model file (npz inside LZMA; its layout is documented
    in py3langid.modelio), read one by one as numpy arrays: py3langid's own loader copies
    them into lists and stdlib arrays, which would double the peak while loading."""
    import lzma
    import shutil
    import tempfile

    from py3langid.langid import MODEL_DIR, MODEL_FILE

    out: dict[str, Any] = {}
    with tempfile.TemporaryFile(suffix=".npz") as tmp:
        with lzma.open(MODEL_DIR / MODEL_FILE) as src:
            shutil.copyfileobj(src, tmp, length=1 << 20)
        tmp.seek(0)
        with np.load(tmp, allow_pickle=False) as data:
            missing = set(names) - set(data.files)
            if missing:
                raise ValueError(f"py3langid model without {sorted(missing)}: unknown layout")
            for name in names:
                out[name] = data[name]
    return out


def _build(langs: tuple[str, ...]) -> CompactIdentifier:
    model = _read_arrays(("classes", "ptc", "pc", "nextmove", "nextmove_row", "out_feat"))
    classes = [str(c) for c in model.pop("classes").tolist()]
    unknown = set(langs) - set(classes)
    if unknown:
        raise ValueError(f"py3langid does not know {sorted(unknown)}")
    # In the model's order, as py3langid keeps them: a tie (a text with no feature) goes to the
    # first, and that must be the same language as before.
    cols = sorted(classes.index(lang) for lang in langs)
    langs = tuple(classes[c] for c in cols)
    all_weights = np.ascontiguousarray(model.pop("ptc")[:, cols])  # 3 of 142 columns
    prior = np.asarray(model.pop("pc"), dtype=np.float32)[cols]
    out = model.pop("out_feat")
    row_of_state = model.pop("nextmove_row")
    table = model.pop("nextmove").reshape(-1, 256)[:, :_KEPT_BYTES]

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
    dtype = np.uint16 if len(kept) < 1 << 16 else np.uint32
    new_id = np.zeros(len(row_of_state), dtype=dtype)
    new_id[kept] = np.arange(len(kept), dtype=dtype)
    moves = np.zeros((len(kept), _KEPT_BYTES + 1), dtype=dtype)  # last column: back to 0
    for lo in range(0, len(kept), _CHUNK):  # in chunks: the full gather would be ~25 MB
        part = kept[lo : lo + _CHUNK]
        moves[lo : lo + _CHUNK, :_KEPT_BYTES] = new_id[table[row_of_state[part]]]
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
    weights = np.ascontiguousarray(all_weights[features], dtype=np.float32)
    del all_weights

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


def _give_back_freed_memory() -> None:
    """Return the ~100 MB the full model occupied while loading to the OS. glibc keeps freed
    blocks of this size in the heap (its mmap threshold grows after the first big free), so
    without a trim the process would stay as large as if it kept the full model."""
    import ctypes
    import gc

    gc.collect()
    try:
        libc = ctypes.CDLL("libc.so.6")
    except OSError:  # not glibc (musl, macOS): those return large blocks by themselves
        return
    libc.malloc_trim(0)


if __name__ == "__main__":  # python -m bot.lang.model: rewrite the shipped cut
    SHIPPED.parent.mkdir(exist_ok=True)
    write_compact(cut_down(_SHIPPED_LANGS), SHIPPED, source=source_digest())
    print(f"wrote {SHIPPED.name}: {SHIPPED.stat().st_size} bytes")
