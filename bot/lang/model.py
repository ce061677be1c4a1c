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

import contextlib
import math
import unicodedata
import zipfile
from array import array
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO, Any

import numpy as np

__all__ = ["CompactIdentifier", "load_compact"]

_KEPT_BYTES = 128  # ASCII
_CHUNK = 4096  # states per step when renumbering transitions


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


def load_compact(langs: tuple[str, ...]) -> CompactIdentifier:
    """Read py3langid's packaged model and keep the part ``langs`` need (see module doc).

    Raises ValueError when py3langid does not know one of ``langs`` or its model file has
    another layout."""
    model = _build(langs)
    _give_back_freed_memory()  # after _build's locals are gone
    return model


@contextlib.contextmanager
def _model_file() -> Iterator[_ModelFile]:
    """py3langid's model file (npz inside LZMA; its layout is documented in py3langid.modelio),
    decompressed once into a temporary file for the arrays to be read from."""
    import lzma
    import shutil
    import tempfile

    from py3langid.langid import MODEL_DIR, MODEL_FILE

    with tempfile.TemporaryFile(suffix=".npz") as tmp:
        with lzma.open(MODEL_DIR / MODEL_FILE) as src:
            shutil.copyfileobj(src, tmp, length=1 << 20)
        tmp.seek(0)
        with zipfile.ZipFile(tmp) as npz:
            yield _ModelFile(npz)


_SLICE_BYTES = 1 << 21  # per read of a reduced array


class _ModelFile:
    def __init__(self, npz: zipfile.ZipFile) -> None:
        self._npz = npz
        self._names = {n.removesuffix(".npy") for n in npz.namelist()}

    def array(self, name: str) -> Any:
        """The named array. Raises ValueError when the file lacks it."""
        with self._open(name) as member:
            return np.lib.format.read_array(member, allow_pickle=False)

    def columns(self, name: str, keep: Any, *, width: int | None = None) -> Any:
        """``array(name)[:, keep]`` (rows of ``width`` entries when the array is stored flat),
        read a slice of rows at a time into the result: only the kept columns are ever held.
        numpy's loader (and py3langid's) would hold the whole 28 MB weight table and 39 MB
        automaton first, and the process's peak memory would be theirs.

        Raises ValueError when the file lacks the array or holds it in an unknown layout."""
        fmt = np.lib.format
        with self._open(name) as member:
            version = fmt.read_magic(member)
            header = fmt.read_array_header_1_0 if version == (1, 0) else fmt.read_array_header_2_0
            shape, fortran_order, dtype = header(member)
            if width is not None and len(shape) == 1 and shape[0] % width == 0:
                shape = (shape[0] // width, width)
            if fortran_order or dtype.hasobject or len(shape) != 2:
                raise ValueError(f"py3langid model array {name!r} in an unknown layout")
            rows, row_bytes = shape[0], shape[1] * dtype.itemsize
            out = np.empty((rows, np.arange(shape[1])[keep].size), dtype=dtype)
            step = max(1, _SLICE_BYTES // row_bytes)
            for lo in range(0, rows, step):
                n = min(step, rows - lo)
                data = member.read(n * row_bytes)
                if len(data) != n * row_bytes:
                    raise ValueError(f"py3langid model array {name!r} cut short")
                out[lo : lo + n] = np.frombuffer(data, dtype=dtype).reshape(n, shape[1])[:, keep]
            return out

    def _open(self, name: str) -> IO[bytes]:
        if name not in self._names:
            raise ValueError(f"py3langid model without {name!r}: unknown layout")
        return self._npz.open(f"{name}.npy")


def _build(langs: tuple[str, ...]) -> CompactIdentifier:
    with _model_file() as model:
        classes = [str(c) for c in model.array("classes").tolist()]
        unknown = set(langs) - set(classes)
        if unknown:
            raise ValueError(f"py3langid does not know {sorted(unknown)}")
        # In the model's order, as py3langid keeps them: a tie (a text with no feature) goes
        # to the first, and that must be the same language as before.
        cols = sorted(classes.index(lang) for lang in langs)
        langs = tuple(classes[c] for c in cols)
        # 3 of 142 columns of the weights.
        all_weights = model.columns("ptc", cols)
        prior = np.asarray(model.array("pc"), dtype=np.float32)[cols]
        out = model.array("out_feat")
        row_of_state = model.array("nextmove_row")
        # The ASCII columns of the transition table, stored flat (256 entries per state row).
        table = model.columns("nextmove", slice(0, _KEPT_BYTES), width=256)

    # States an ASCII text can reach: those whose n-gram is ASCII (a prefix-closed set).
    seen = np.zeros(len(row_of_state), dtype=bool)
    seen[0] = True
    frontier = np.zeros(1, dtype=np.int64)
    while len(frontier):
        reached = np.zeros(len(row_of_state), dtype=bool)
        for lo in range(0, len(frontier), _CHUNK):  # in chunks: a frontier's gather is ~10 MB
            reached[table[row_of_state[frontier[lo : lo + _CHUNK]]]] = True
        reached &= ~seen
        seen |= reached
        frontier = np.flatnonzero(reached)
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
    rows, inverse = _share_rows(moves)
    del moves

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


# Odd 64-bit multipliers, one per column, for _share_rows' row hash (fixed: the same model on
# every load).
_ROW_HASH = np.random.default_rng(0x5741525441).integers(
    1, 1 << 63, size=_KEPT_BYTES + 1, dtype=np.uint64
) | np.uint64(1)


def _share_rows(moves: Any) -> tuple[Any, Any]:
    """``(rows, inverse)``: the distinct rows of ``moves`` and, per row, the index of its
    distinct row (``rows[inverse] == moves``). Rows are told apart by a 64-bit hash, checked
    afterwards: ``np.unique`` on whole rows would sort two copies of the 12 MB table, the
    largest memory peak of the load."""
    hashes = np.empty(len(moves), dtype=np.uint64)
    with np.errstate(over="ignore"):  # the hash wraps around 2**64 by design
        for lo in range(0, len(moves), _CHUNK):
            part = moves[lo : lo + _CHUNK].astype(np.uint64)
            hashes[lo : lo + _CHUNK] = (part * _ROW_HASH).sum(axis=1, dtype=np.uint64)
    _, first, inverse = np.unique(hashes, return_index=True, return_inverse=True)
    rows = moves[first]
    for lo in range(0, len(moves), _CHUNK):
        if not np.array_equal(rows[inverse[lo : lo + _CHUNK]], moves[lo : lo + _CHUNK]):
            # Two different rows with one hash (never seen; ~1e-10 for this table): exact.
            packed = np.ascontiguousarray(moves).view(
                np.dtype((np.void, moves.shape[1] * moves.itemsize))
            )
            _, first, inverse = np.unique(packed.ravel(), return_index=True, return_inverse=True)
            return moves[first], inverse
    return rows, inverse


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
