"""Where lexicon patterns can match a text, found in one multi-pattern pass.

The topic lexicon holds a few hundred word-bounded regexes (bot/topic.py). Scanning each over
every story cost ~1 ms a story, and a plain substring prefilter let most of them through: short
needles such as "ai" or "art" sit inside "said" and "party"; and each regex scan visits every
offset, as the patterns open with a lookbehind the regex engine cannot skip ahead of. Here two
tokens of every term are looked for in the casefolded text: its longest token (the filter: a
story without it cannot match) and its first (the anchor: every match starts there). One
Aho-Corasick automaton (pyahocorasick, C) finds every filter token's occurrences in one pass;
an anchor that is no term's filter ("the" of "the author") is looked up only in a story that
has a filter it anchors, so common words cost nothing elsewhere. An occurrence counts only where
the regex could match around it: the token is a whole token of its term, so the character
before it is never a word character, and the one after it is a separator, a suffix ("s", "es",
"nya"...), a word end for the final token, or anything at all after a trailing ``*``. The caller
then runs each remaining regex anchored at those offsets only, so the results are exactly the
regexes' own: this decides where to look, never what matches.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import ahocorasick

__all__ = ["NeedleSpec", "TermScan", "needle_spec"]

_TOKEN_SPLIT = re.compile(r"[\s\-]+")
# Casefolded starts of the light suffix (topic.py ``_SUFFIX``) that begin with a word character;
# the others ("'s", "’s", "-nya") begin with a non-word character and pass as a boundary.
_SUFFIX_STARTS = ("s", "es", "nya", "lah", "pun")


@dataclass(frozen=True, slots=True)
class _Token:
    """A token of a term and what may follow it inside a match."""

    text: str  # casefolded
    inner: bool  # it is also a non-final token: a separator may follow
    last: bool  # it is the final token: a suffix or a word end may follow
    wildcard: bool  # the term ends in "*": anything may follow the final token

    def may_be_followed_by(self, kinds: int) -> bool:
        return (
            (self.last and self.wildcard)
            or (self.inner and bool(kinds & _SEP))
            or (self.last and bool(kinds & (_SEP | _END | _SUFFIX)))
        )


@dataclass(frozen=True, slots=True)
class NeedleSpec:
    """The two tokens of a term the scan looks for: ``needle``, the longest (the rarest: a
    story without it as a whole token cannot match), and ``anchor``, the first (every match
    starts where it does)."""

    needle: _Token
    anchor: _Token


def needle_spec(term: str) -> NeedleSpec:
    """The needle and anchor of a lexicon term (syntax in config/topics.toml)."""
    wildcard = term.endswith("*")
    tokens = [t.casefold() for t in _TOKEN_SPLIT.split(term.rstrip("*").strip()) if t]
    if not tokens:
        raise ValueError(f"empty lexicon term: {term!r}")

    def token(text: str) -> _Token:
        return _Token(text, text in tokens[:-1], tokens[-1] == text, wildcard)

    return NeedleSpec(needle=token(max(tokens, key=len)), anchor=token(tokens[0]))


# What follows an occurrence of a token.
_SEP, _END, _SUFFIX, _WORD = 1, 2, 4, 8


class TermScan:
    """Built once from the specs of every pattern; ``candidates`` then tells, for one text,
    where each pattern may match. Immutable after construction and safe to share between
    threads (the automaton is only read)."""

    def __init__(self, specs: Sequence[NeedleSpec]) -> None:
        self._specs = tuple(specs)
        keys: dict[str, int] = {}
        for spec in self._specs:
            for tok in (spec.needle, spec.anchor):
                keys.setdefault(tok.text, len(keys))
        # needle key -> (spec id, anchor key) of the specs it filters
        self._by_needle: dict[int, list[tuple[int, int]]] = {}
        for i, spec in enumerate(self._specs):
            self._by_needle.setdefault(keys[spec.needle.text], []).append(
                (i, keys[spec.anchor.text])
            )
        # Only needles go into the automaton. An anchor that is no term's needle ("the" of
        # "the author", "to" of "to train") is looked up in the few stories where a needle
        # it anchors occurs: in the automaton, such common words were half of all its hits.
        self._automaton = ahocorasick.Automaton()
        for text, key in keys.items():
            if key in self._by_needle:
                self._automaton.add_word(text, (len(text), key))
        self._anchor_only = {key: text for text, key in keys.items() if key not in self._by_needle}
        if self._by_needle:
            self._automaton.make_automaton()
        self._empty = not self._by_needle

    def __len__(self) -> int:
        return len(self._specs)

    def candidates(self, doc: str, folded: str) -> dict[int, list[int]]:
        """For each spec whose pattern may match ``doc``, the offsets where a match may start
        (ascending; every match starts at one of them). ``folded`` is ``doc.casefold()`` and
        must have the same length: the caller scans every pattern otherwise, since offsets no
        longer line up."""
        out: dict[int, list[int]] = {}
        if self._empty:
            return out
        # key -> [(start, what follows)] of its word-bounded occurrences, in text order
        found: dict[int, list[tuple[int, int]]] = {}
        n = len(doc)
        # _bounded, inlined: this loop runs for every occurrence of every needle.
        for end, (size, key) in self._automaton.iter(folded):
            start = end - size + 1
            if start > 0:
                before = doc[start - 1]
                if before.isalnum() or before == "_":
                    continue
            after = end + 1
            if after >= n:
                kind = _END
            elif not ((follow := doc[after]).isalnum() or follow == "_"):
                kind = _SEP
            elif folded.startswith(_SUFFIX_STARTS, after):
                kind = _SUFFIX
            else:
                kind = _WORD
            found.setdefault(key, []).append((start, kind))
        anchors: dict[int, list[tuple[int, int]]] = {}
        for needle_key, needle_at in found.items():
            for i, anchor_key in self._by_needle.get(needle_key, ()):
                anchor_at = found.get(anchor_key)
                if anchor_at is None and anchor_key in self._anchor_only:
                    anchor_at = anchors.get(anchor_key)
                    if anchor_at is None:
                        anchor_at = anchors[anchor_key] = _occurrences(
                            doc, folded, self._anchor_only[anchor_key]
                        )
                self._add(out, i, needle_at, anchor_at)
        return out

    def _add(
        self,
        out: dict[int, list[int]],
        i: int,
        needle_at: list[tuple[int, int]],
        anchor_at: list[tuple[int, int]] | None,
    ) -> None:
        if anchor_at:
            spec = self._specs[i]
            if any(spec.needle.may_be_followed_by(k) for _, k in needle_at):
                starts = [p for p, k in anchor_at if spec.anchor.may_be_followed_by(k)]
                if starts:
                    out[i] = starts


def _bounded(doc: str, folded: str, start: int, after: int) -> int:
    """What follows an occurrence of a token at ``doc[start:after]``, or 0 when a word
    character precedes it (then no pattern can match there).

    A word character is the regexes' own notion, \\w: for one character of a str that is
    exactly ch.isalnum() or ch == "_" (both Py_UNICODE_ISALNUM), and the methods cost a third
    of a re match() call, made at both ends of every occurrence."""
    if start > 0:
        before = doc[start - 1]
        if before.isalnum() or before == "_":
            return 0
    if after >= len(doc):
        return _END
    follow = doc[after]
    if not (follow.isalnum() or follow == "_"):
        return _SEP
    if folded.startswith(_SUFFIX_STARTS, after):
        return _SUFFIX
    return _WORD


def _occurrences(doc: str, folded: str, token: str) -> list[tuple[int, int]]:
    """Every word-bounded occurrence of ``token`` in ``folded``, as the automaton reports them
    (overlapping ones too, in text order)."""
    at: list[tuple[int, int]] = []
    start = folded.find(token)
    while start >= 0:
        kind = _bounded(doc, folded, start, start + len(token))
        if kind:
            at.append((start, kind))
        start = folded.find(token, start + 1)
    return at
