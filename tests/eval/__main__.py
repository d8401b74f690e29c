"""``make eval``: score user requests against the live ``tools/list`` with an offline embedding model.

The server is built with every toolset (admin included, as a Bearer session would see it)
and asked for ``tools/list`` through a real MCP client in memory; each tool is embedded
from what a model reads to pick it (name, title, description), each request from its
words, and tools are ranked by cosine similarity. The model is WordLlama's bundled
``l2_supercat`` (256-d static token embeddings) whose weights and tokenizer ship inside
the ``wordllama`` wheel (``pip install -e '.[eval]'``); it is loaded from the package
directory with downloads disabled, so nothing is fetched at run time.

``--record-baseline`` stores today's figures in ``tests/eval/baseline.json`` (the
"before"); a normal run reports the current figures beside them and rewrites the
``Tool retrieval`` section of BENCHMARKS.md between its markers.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

import anyio
from mcp.client import Client
from pydantic import SecretStr

from kupe_mcp.config import DEFAULT_TOOLSETS, Credentials, Settings
from kupe_mcp.serve.server import create_server
from kupe_mcp.toolsets import TOOLSETS
from tests.eval.requests import DOC_REQUESTS, HELD_OUT, NEGATIVES, REQUESTS
from tests.eval.scoring import (
    Tally,
    bm25,
    first_picks,
    first_sentence,
    model_facing_bytes,
    score,
    search_then_rank,
    words,
)

BASELINE = Path(__file__).with_name("baseline.json")
# The figures when issue #19 began (2026-12-04), before its rewrite of names, titles and first sentences.
START = Path(__file__).with_name("baseline-issue19.json")
SEARCH_TOP = 5
TARGET_TOP1, TARGET_TOP3 = 0.75, 0.92
BEGIN, END = "<!-- eval:begin -->", "<!-- eval:end -->"


async def live_tools() -> list[dict[str, Any]]:
    """Every tool a model is shown in ``tools/list`` (all toolsets, Bearer session).

    App-only tools (``_meta.ui.visibility == ["app"]``, the approval card's buttons) are left out: a host
    hides them from the model, so no request could or should find them.
    """
    settings = Settings(toolsets=("all",), credentials=Credentials(bearer_token=SecretStr("eval-only")))
    server = create_server(settings)
    async with Client(server) as mcp:  # its lifespan closes the server's client when the connection ends
        listed = await mcp.list_tools()
    tools = [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed.tools]
    return [t for t in tools if "model" in ((t.get("_meta") or {}).get("ui") or {}).get("visibility", ["model"])]


def tool_text(tool: dict[str, Any]) -> str:
    """The words a model weighs when it picks a tool: its name, title and description."""
    return f"{tool['name'].replace('_', ' ')}. {tool.get('title') or ''}. {tool.get('description') or ''}"


def search_text(tool: dict[str, Any]) -> list[str]:
    """What a client-side tool search indexes: name, title and the description's first sentence."""
    return words(f"{tool['name']} {tool.get('title') or ''} {first_sentence(tool.get('description') or '')}")


def lexical_similarities(queries: list[str], docs: list[str]) -> list[list[float]]:
    """Cosine of word counts: no model, no weights. The smoke run's scorer; its figures mean nothing."""
    import math
    import re
    from collections import Counter

    def bag(text: str) -> Counter[str]:
        return Counter(re.findall(r"[a-z0-9]+", text.lower()))

    def cosine(a: Counter[str], b: Counter[str]) -> float:
        norm = math.sqrt(sum(v * v for v in a.values())) * math.sqrt(sum(v * v for v in b.values()))
        return sum(a[w] * b[w] for w in a) / norm if norm else 0.0

    bags = [bag(d) for d in docs]
    return [[cosine(bag(q), d) for d in bags] for q in queries]


def similarities(queries: list[str], docs: list[str]) -> list[list[float]]:
    import wordllama
    from wordllama import WordLlama

    model = WordLlama.load(cache_dir=Path(wordllama.__file__).parent, disable_download=True)
    q = model.embed(queries, norm=True)
    d = model.embed(docs, norm=True)
    matrix: list[list[float]] = (q @ d.T).tolist()
    return matrix


# Tools that ring a phone or may (wait_for_approval dials once the person says yes); destructive ones are read
# from their annotations.
DIALS = frozenset({"place_call", "start_batch", "wait_for_approval"})
SETS = {"original": REQUESTS, "docs": DOC_REQUESTS, "held-out": HELD_OUT}
CONDITIONS = ("embedding", "tool search")


def measure(*, smoke: bool = False) -> dict[str, Any]:
    """The figures of every request; with ``smoke``, of one request per toolset and a few of each other set,
    scored by word overlap instead of the model (``make test`` runs it so the report cannot rot)."""
    tools = anyio.run(live_tools)
    names = [t["name"] for t in tools]
    toolset_of = {spec.name: ts.name for ts in TOOLSETS for spec in ts.tools}
    unknown = sorted(set(names) - set(toolset_of))
    if unknown:
        raise SystemExit(f"make eval: {', '.join(unknown)} listed but in no toolset of kupe_mcp/toolsets: add one.")
    forbidden = DIALS | {t["name"] for t in tools if (t.get("annotations") or {}).get("destructiveHint")}
    requests, doc_requests, held_out, negatives_ = REQUESTS, DOC_REQUESTS, HELD_OUT, NEGATIVES
    if smoke:
        firsts = {toolset_of[acceptable[0]]: (text, acceptable) for text, acceptable in reversed(REQUESTS)}
        requests, doc_requests, held_out, negatives_ = (
            tuple(firsts.values()),
            DOC_REQUESTS[:3],
            HELD_OUT[:3],
            NEGATIVES[:3],
        )
    everything = [*requests, *doc_requests, *held_out, *negatives_]
    rank = lexical_similarities if smoke else similarities
    sims = rank([r for r, _ in everything], [tool_text(t) for t in tools])
    found = bm25([words(r) for r, _ in everything], [search_text(t) for t in tools])
    matrices = {"embedding": sims, "tool search": search_then_rank(found, sims, k=SEARCH_TOP)}
    spans = {"original": (0, len(requests)), "docs": (len(requests), len(requests) + len(doc_requests))}
    spans["all"] = (0, len(requests) + len(doc_requests))
    # The held-out set is scored on its own and kept out of "all", so "all" stays the 200 requests the target and
    # the start-of-#19 figures are over.
    spans["held-out"] = (spans["all"][1], spans["all"][1] + len(held_out))
    negatives = (spans["held-out"][1], len(everything))
    conditions: dict[str, Any] = {}
    for condition, matrix in matrices.items():
        per_set = {}
        for name, (lo, hi) in spans.items():
            result = score(everything[lo:hi], names, matrix[lo:hi], toolset_of)
            per_set[name] = {**result.to_json(), "misses": [m.__dict__ for m in result.misses]}
            if name in ("all", "held-out"):
                per_set[name]["confusions"] = result.confusions()
        lo, hi = negatives
        neg = score(everything[lo:hi], names, matrix[lo:hi], toolset_of)
        per_set["negatives"] = {
            **neg.to_json(),
            "dangerous_first": first_picks(everything[lo:hi], names, matrix[lo:hi], forbidden),
        }
        conditions[condition] = per_set
    original = conditions["embedding"]["original"]
    sizes = {t["name"]: model_facing_bytes(t) for t in tools}
    default = [n for n in names if toolset_of[n] in DEFAULT_TOOLSETS]
    return {
        # The first condition on the first set, under the keys the older baseline.json uses.
        "overall": original["overall"],
        "by_toolset": original["by_toolset"],
        "misses": original["misses"],
        "conditions": conditions,
        "forbidden_first": sorted(forbidden),
        "default_names": default,
        "bytes": {
            "all_per_tool": round(sum(sizes.values()) / len(sizes), 1),
            "default_per_tool": round(sum(sizes[n] for n in default) / len(default), 1),
            "tools_all": len(sizes),
            "tools_default": len(default),
            "per_tool": sizes,
        },
    }


def pct(value: float | None) -> str:
    return "" if value is None else f"{100 * value:.0f}%"


def regrouped(before: dict[str, Any], now: dict[str, Any]) -> dict[str, dict[str, float]]:
    """The baseline's per-request ranks tallied by today's toolsets (a tool may have moved since)."""
    ranks = {m["request"]: m["rank"] for m in before.get("misses", [])}
    toolset_of = {spec.name: ts.name for ts in TOOLSETS for spec in ts.tools}
    tallies: dict[str, Tally] = {}
    existed = before.get("bytes", {}).get("per_tool", {})
    for text, tools in REQUESTS:
        if tools[0] not in existed:
            continue  # a tool added since (tune_agent) had no rank then
        rank = ranks.get(text, 1)
        tallies.setdefault(toolset_of[tools[0]], Tally()).add(rank == 1, rank <= 3)
    return {name: t.rates() for name, t in tallies.items()}


def pair(rates: dict[str, Any]) -> str:
    """``top-1 / top-3`` of a row, or nothing when the row was not measured then."""
    return "" if rates.get("top1") is None else f"{pct(rates.get('top1'))} / {pct(rates.get('top3'))}"


def _rates(figures: dict[str, Any] | None, condition: str, name: str) -> dict[str, Any]:
    found: dict[str, Any] = ((figures or {}).get("conditions", {}).get(condition, {}).get(name) or {}).get(
        "overall", {}
    )
    return found


def section(now: dict[str, Any], before: dict[str, Any] | None, start: dict[str, Any] | None = None) -> str:
    b = dict(before or {})
    if b:
        b["by_toolset"] = regrouped(b, now)
    n = {name: now["conditions"]["embedding"][name]["overall"]["requests"] for name in ("original", "docs", "held-out")}
    negs = now["conditions"]["embedding"]["negatives"]["overall"]["requests"]
    lines = [
        BEGIN,
        "## Tool retrieval (`make eval`)",
        "",
        *(
            [
                "**Smoke run** (`--smoke`): a few requests scored by word overlap, not the model; the figures "
                "below mean nothing.",
                "",
            ]
            if now.get("smoke")
            else []
        ),
        f"Requests written in users' words (`tests/eval/requests.py`) ranked against the live `tools/list` of all "
        f"{now['bytes']['tools_all']} tools a model is shown (the app-only `answer_call_approval` is hidden from "
        "models and left out). Three request sets: the *original* "
        f"{n['original']} and {n['docs']} more written for issue #19 from the README's promises and Kupe's docs "
        "(`../shared/kupe-api/`), committed before any score was looked at, so the descriptions were not tuned on "
        f"them alone (together *all*); and a *held-out* {n['held-out']} written the same way before the second "
        "round of rewording, which the descriptions were never tuned against (not in *all*). "
        "Model: WordLlama `l2_supercat` 256-d, weights bundled in the `wordllama` wheel "
        "(`pip install -e '.[eval]'`, nothing downloaded). A hit at top-1 means the best-ranked tool is right.",
        "",
        "Two conditions:",
        "",
        "- **embedding**: every tool ranked by cosine similarity of the request to its name, title and description "
        "(a client that shows the model every tool).",
        f"- **tool search**: what a client with tool search does (Claude Code searches an MCP server's tools on the "
        f"client side by default): Okapi BM25 (k1 1.2, b 0.75, no stemming) over each tool's name, title and the "
        f"description's first sentence keeps the top {SEARCH_TOP}; the embedding then picks among those "
        f"{SEARCH_TOP}. A tool BM25 does not return is a miss.",
        "",
        "*Start of #19* is this evaluation on the descriptions as they were when issue #19 began "
        "(`tests/eval/baseline-issue19.json`); *first baseline* is the descriptions when the evaluation was first "
        "written (`tests/eval/baseline.json`, embedding condition, original requests only).",
        "",
        "| condition | requests | first baseline top-1 / top-3 | start of #19 top-1 / top-3 | now top-1 | now top-3 |",
        "|---|---|---:|---:|---:|---:|",
    ]
    labels = {"original": f"original ({n['original']})", "docs": f"from the docs ({n['docs']})"}
    labels["all"] = f"all ({n['original'] + n['docs']})"
    labels["held-out"] = f"held-out ({n['held-out']})"
    for condition in CONDITIONS:
        for name in ("original", "docs", "all", "held-out"):
            o = now["conditions"][condition][name]["overall"]
            s0 = _rates(start, condition, name)
            first = b.get("overall", {}) if (condition, name) == ("embedding", "original") else {}
            lines.append(
                f"| {condition} | {labels[name]} | {pair(first)} | {pair(s0)} | "
                f"**{pct(o['top1'])}** | **{pct(o['top3'])}** |"
            )
    for condition in CONDITIONS:
        o = now["conditions"][condition]["all"]["overall"]
        met = o["top1"] >= TARGET_TOP1 and o["top3"] >= TARGET_TOP3
        lines.append(
            f"{'' if condition != CONDITIONS[0] else chr(10)}- Target (issue #19) top-1 >= {pct(TARGET_TOP1)} and "
            f"top-3 >= {pct(TARGET_TOP3)}, all requests, {condition}: {'met' if met else '**not met**'} "
            f"({pct(o['top1'])}, {pct(o['top3'])})."
        )
    for condition in CONDITIONS:
        o = now["conditions"][condition]["held-out"]["overall"]
        lines.append(
            f"- Held-out set (never tuned on), {condition}: top-1 {pct(o['top1'])}, top-3 {pct(o['top3'])} "
            f"(the same bar would be {'met' if o['top1'] >= TARGET_TOP1 and o['top3'] >= TARGET_TOP3 else 'not met'})."
        )
    lines += [
        "",
        f"Read requests that must never put a dialling, spending or destructive tool first ({negs} of them, "
        "`NEGATIVES`; forbidden first: `place_call`, `start_batch`, `wait_for_approval` and every tool annotated "
        "`destructiveHint`). The count must be 0:",
        "",
        "| condition | start of #19: forbidden tool first | now: forbidden tool first | now top-1 | now top-3 |",
        "|---|---:|---:|---:|---:|",
    ]
    for condition in CONDITIONS:
        neg = now["conditions"][condition]["negatives"]
        was = ((start or {}).get("conditions", {}).get(condition, {}).get("negatives") or {}).get("dangerous_first")
        lines.append(
            f"| {condition} | {'' if was is None else len(was)} | **{len(neg['dangerous_first'])}** | "
            f"{pct(neg['overall']['top1'])} | {pct(neg['overall']['top3'])} |"
        )
    for condition in CONDITIONS:
        for text, tool in now["conditions"][condition]["negatives"]["dangerous_first"]:
            lines.append(f"- {condition}: {text!r} ranks `{tool}` first")
    lines += [
        "",
        "By toolset, original requests, embedding (the first baseline's condition):",
        "",
        "| toolset | requests | first baseline top-1 | first baseline top-3 | now top-1 | now top-3 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, t in now["by_toolset"].items():
        o = b.get("by_toolset", {}).get(name, {})
        lines.append(
            f"| {name} | {t['requests']} | {pct(o.get('top1'))} | {pct(o.get('top3'))} | "
            f"{pct(t['top1'])} | {pct(t['top3'])} |"
        )
    bb, nb, sb = b.get("bytes", {}), now["bytes"], (start or {}).get("bytes", {})

    def same_tools(figures: dict[str, Any], names: list[str]) -> float | str:
        was = figures.get("per_tool", {})
        kept = [was[name] for name in names if name in was]
        return round(sum(kept) / len(kept), 1) if kept else ""

    everyone = list(nb["per_tool"])
    lines += [
        "",
        "Model-facing bytes per tool (name + title + description + inputSchema, compact UTF-8 JSON as listed; "
        "earlier figures over the same tools as now):",
        "",
        "| tools | first baseline | start of #19 | now |",
        "|---|---:|---:|---:|",
        f"| default toolsets ({nb['tools_default']}) | {same_tools(bb, now['default_names'])} | "
        f"{same_tools(sb, now['default_names'])} | {nb['default_per_tool']} |",
        f"| all toolsets ({nb['tools_all']}) | {same_tools(bb, everyone)} | {same_tools(sb, everyone)} | "
        f"{nb['all_per_tool']} |",
        "",
        "Most frequent confusions now, all requests, embedding (expected -> picked at top-1, times):",
        "",
    ]
    lines += [f"- `{e}` -> `{p}` ({k})" for e, p, k in now["conditions"]["embedding"]["all"]["confusions"]] or [
        "- none"
    ]
    for name, label in (("all", "all requests"), ("held-out", "held-out requests")):
        for condition in CONDITIONS:
            misses = now["conditions"][condition][name]["misses"]
            lines += ["", f"<details><summary>Every top-1 miss now, {label}, {condition} ({len(misses)})</summary>", ""]
            lines += [
                f"- {m['request']!r}: expected `{m['expected']}` (rank {m['rank']}), got `{m['picked']}`"
                for m in misses
            ]
            lines += ["", "</details>"]
    lines.append(END)
    return "\n".join(lines)


def write_section(path: Path, text: str) -> None:
    """Replace the marked section of ``path`` (or append it), leaving the rest of the report alone."""
    current = path.read_text() if path.exists() else ""
    if BEGIN in current and END in current:
        head, rest = current.split(BEGIN, 1)
        tail = rest.split(END, 1)[1]
        path.write_text(head + text + tail)
    else:
        path.write_text(current.rstrip("\n") + "\n\n" + text + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(prog="python -m tests.eval")
    parser.add_argument("--out", type=Path, help="Markdown report whose eval section to rewrite (default: stdout)")
    parser.add_argument(
        "--record-baseline",
        type=Path,
        nargs="?",
        const=START,
        help=f"store these figures as a baseline (default {START.name}; baseline.json is the first one)",
    )
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="a few requests, scored by word overlap (no model): shows the report still builds (make test)",
    )
    args = parser.parse_args()
    if args.smoke and args.record_baseline:
        parser.error("--smoke figures mean nothing: they cannot be a baseline")
    now = measure(smoke=args.smoke)
    if args.smoke:
        now["smoke"] = True
    if args.record_baseline:
        args.record_baseline.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
        print(f"wrote {args.record_baseline}", file=sys.stderr)
    before = json.loads(BASELINE.read_text()) if BASELINE.exists() else None
    start = json.loads(START.read_text()) if START.exists() else None
    text = section(now, before, start)
    if args.out:
        write_section(args.out, text)
        print(f"wrote the eval section of {args.out}", file=sys.stderr)
    else:
        print(text)
    for condition in CONDITIONS:
        o = now["conditions"][condition]["all"]["overall"]
        bad = len(now["conditions"][condition]["negatives"]["dangerous_first"])
        print(
            f"{condition}: top-1 {pct(o['top1'])}, top-3 {pct(o['top3'])} over {o['requests']} requests; "
            f"forbidden tool first on {bad} read requests",
            file=sys.stderr,
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
