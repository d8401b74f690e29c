"""Scoring for the retrieval evaluation: pure functions over a similarity matrix, no model needed.

``score`` ranks every tool for every request by similarity and counts a top-1 hit when the
best tool is an acceptable one, a top-3 hit when one of the best three is. Results are
grouped by the toolset of the request's first acceptable tool; top-1 misses are kept as
confusions (expected -> picked) so a report can say which descriptions pull requests away.
"""

from __future__ import annotations

import json
import math
import re
from collections import Counter
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = [
    "Miss",
    "Score",
    "Tally",
    "bm25",
    "first_picks",
    "first_sentence",
    "model_facing_bytes",
    "score",
    "search_then_rank",
    "words",
]


@dataclass
class Tally:
    """Hits out of a number of requests."""

    requests: int = 0
    top1: int = 0
    top3: int = 0

    def add(self, top1: bool, top3: bool) -> None:
        self.requests += 1
        self.top1 += top1
        self.top3 += top3

    def rates(self) -> dict[str, float]:
        n = self.requests or 1
        return {"requests": self.requests, "top1": round(self.top1 / n, 3), "top3": round(self.top3 / n, 3)}


@dataclass(frozen=True)
class Miss:
    """A request whose best match was not an acceptable tool."""

    request: str
    expected: str
    picked: str
    rank: int  # 1-based rank of the best acceptable tool


@dataclass
class Score:
    overall: Tally = field(default_factory=Tally)
    by_toolset: dict[str, Tally] = field(default_factory=dict)
    misses: list[Miss] = field(default_factory=list)

    def confusions(self, limit: int = 15) -> list[tuple[str, str, int]]:
        """The most frequent (expected, picked) pairs among top-1 misses."""
        pairs = Counter((m.expected, m.picked) for m in self.misses)
        return [(e, p, n) for (e, p), n in pairs.most_common(limit)]

    def to_json(self) -> dict[str, Any]:
        return {
            "overall": self.overall.rates(),
            "by_toolset": {name: t.rates() for name, t in sorted(self.by_toolset.items())},
        }


def score(
    requests: Sequence[tuple[str, Sequence[str]]],
    tools: Sequence[str],
    similarity: Sequence[Sequence[float]],
    toolset_of: Mapping[str, str],
) -> Score:
    """Rank ``tools`` for each request by its row of ``similarity`` (request x tool) and tally the hits.

    Ties keep the tools' order. Raises ValueError when an acceptable tool is not among ``tools``:
    a request for a tool that is not listed would count as a silent miss.
    """
    listed = set(tools)
    result = Score()
    for (text, acceptable), row in zip(requests, similarity, strict=True):
        unknown = [t for t in acceptable if t not in listed]
        if unknown:
            raise ValueError(f"request {text!r} expects {', '.join(unknown)}, which tools/list does not offer")
        ranked = [tools[i] for i in sorted(range(len(tools)), key=lambda i: -row[i])]
        best = min(ranked.index(t) for t in acceptable) + 1
        group = toolset_of[acceptable[0]]
        result.overall.add(best == 1, best <= 3)
        result.by_toolset.setdefault(group, Tally()).add(best == 1, best <= 3)
        if best != 1:
            result.misses.append(Miss(text, acceptable[0], ranked[0], best))
    return result


def model_facing_bytes(tool: Mapping[str, Any]) -> int:
    """Bytes of what a model reads to choose a tool: name, title, description and inputSchema, compact JSON.

    Output schemas and annotations are left out: they describe results, not when to pick the tool.
    """
    kept = {k: tool[k] for k in ("name", "title", "description", "inputSchema") if tool.get(k) is not None}
    return len(json.dumps(kept, separators=(",", ":"), ensure_ascii=False).encode())


_WORD = re.compile(r"[a-z0-9]+")
_SENTENCE_END = re.compile(r"(?<=[.!?])\s")


def words(text: str) -> list[str]:
    """Lower-case words, ``snake_case`` names split: what a keyword search matches on (no stemming)."""
    return _WORD.findall(text.lower().replace("_", " "))


def first_sentence(text: str) -> str:
    """The description up to its first full stop followed by a space (or all of it): what a tool search indexes."""
    return _SENTENCE_END.split(text.strip(), maxsplit=1)[0]


def bm25(
    queries: Sequence[Sequence[str]], docs: Sequence[Sequence[str]], k1: float = 1.2, b: float = 0.75
) -> list[list[float]]:
    """Okapi BM25 of every query (a list of words) against every doc: the query x doc matrix.

    The idf is the always-positive ``log(1 + (N - n + 0.5) / (n + 0.5))`` (Lucene's), so a word in most
    tools still counts a little instead of subtracting.
    """
    n_docs = len(docs)
    avg = sum(len(d) for d in docs) / n_docs
    df = Counter(w for d in docs for w in set(d))
    idf = {w: math.log(1 + (n_docs - n + 0.5) / (n + 0.5)) for w, n in df.items()}
    counts = [Counter(d) for d in docs]
    matrix: list[list[float]] = []
    for query in queries:
        row = []
        for doc, tf in zip(docs, counts, strict=True):
            norm = k1 * (1 - b + b * len(doc) / avg)
            row.append(sum(idf[w] * tf[w] * (k1 + 1) / (tf[w] + norm) for w in query if w in tf))
        matrix.append(row)
    return matrix


def search_then_rank(
    search: Sequence[Sequence[float]], similarity: Sequence[Sequence[float]], k: int = 5
) -> list[list[float]]:
    """A client with tool search: keep the ``k`` best tools by ``search`` score, order those by ``similarity``.

    Tools the search did not return are ranked after every returned one (their similarity minus a constant
    larger than any cosine gap), so a request whose tool was not found is a miss at top-1 and top-3. Ties in
    the search keep the tools' order.
    """
    ranked: list[list[float]] = []
    for found, sims in zip(search, similarity, strict=True):
        kept = set(sorted(range(len(found)), key=lambda i: -found[i])[:k])
        ranked.append([s if i in kept else s - 10.0 for i, s in enumerate(sims)])
    return ranked


def first_picks(
    requests: Sequence[tuple[str, Sequence[str]]],
    tools: Sequence[str],
    similarity: Sequence[Sequence[float]],
    forbidden: Collection[str],
) -> list[tuple[str, str]]:
    """The (request, tool) pairs where the best-ranked tool is a ``forbidden`` one (ties keep the tools' order)."""
    picks = []
    for (text, _), row in zip(requests, similarity, strict=True):
        best = tools[max(range(len(tools)), key=lambda i: (row[i], -i))]
        if best in forbidden:
            picks.append((text, best))
    return picks
