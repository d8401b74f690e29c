"""Scoring for the retrieval evaluation: pure functions over a similarity matrix, no model needed.

``score`` ranks every tool for every request by similarity and counts a top-1 hit when the
best tool is an acceptable one, a top-3 hit when one of the best three is. Results are
grouped by the toolset of the request's first acceptable tool; top-1 misses are kept as
confusions (expected -> picked) so a report can say which descriptions pull requests away.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Miss", "Score", "Tally", "model_facing_bytes", "score"]


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
