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
from tests.eval.requests import REQUESTS
from tests.eval.scoring import Score, Tally, model_facing_bytes, score

BASELINE = Path(__file__).with_name("baseline.json")
BEGIN, END = "<!-- eval:begin -->", "<!-- eval:end -->"


async def live_tools() -> list[dict[str, Any]]:
    """Every tool as ``tools/list`` returns it to a client (all toolsets, Bearer session)."""
    settings = Settings(toolsets=("all",), credentials=Credentials(bearer_token=SecretStr("eval-only")))
    server = create_server(settings)
    try:
        async with Client(server) as mcp:
            listed = await mcp.list_tools()
    finally:
        await server.aclose()
    return [t.model_dump(mode="json", by_alias=True, exclude_none=True) for t in listed.tools]


def tool_text(tool: dict[str, Any]) -> str:
    """The words a model weighs when it picks a tool: its name, title and description."""
    return f"{tool['name'].replace('_', ' ')}. {tool.get('title') or ''}. {tool.get('description') or ''}"


APP_ONLY = "app-only"
"""The group of a tool only an MCP Apps view calls (``_meta.ui.visibility == ["app"]``): it is in ``tools/list``,
so it competes for requests, but it belongs to no toolset."""


def toolsets_of(tools: list[dict[str, Any]]) -> dict[str, str]:
    """Each listed tool's toolset (``APP_ONLY`` for a view's own tool); a tool with neither stops the evaluation."""
    declared = {spec.name: ts.name for ts in TOOLSETS for spec in ts.tools}
    out: dict[str, str] = {}
    for tool in tools:
        name = tool["name"]
        if name in declared:
            out[name] = declared[name]
        elif ((tool.get("_meta") or {}).get("ui") or {}).get("visibility") == ["app"]:
            out[name] = APP_ONLY
        else:
            raise SystemExit(f"make eval: {name} is listed but in no toolset of kupe_mcp/toolsets: add it to one.")
    return out


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


def measure(*, smoke: bool = False) -> dict[str, Any]:
    """The figures of every request, or with ``smoke`` of one request per toolset scored without a model."""
    tools = anyio.run(live_tools)
    names = [t["name"] for t in tools]
    toolset_of = toolsets_of(tools)
    requests = REQUESTS
    if smoke:
        firsts = {toolset_of[acceptable[0]]: (text, acceptable) for text, acceptable in reversed(REQUESTS)}
        requests = tuple(firsts.values())
    rank = lexical_similarities if smoke else similarities
    sims = rank([r for r, _ in requests], [tool_text(t) for t in tools])
    result: Score = score(requests, names, sims, toolset_of)
    sizes = {t["name"]: model_facing_bytes(t) for t in tools}
    default = [n for n in names if toolset_of[n] in DEFAULT_TOOLSETS]
    return {
        **result.to_json(),
        "confusions": result.confusions(),
        "misses": [m.__dict__ for m in result.misses],
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
    for text, tools in REQUESTS:
        rank = ranks.get(text, 1)
        tallies.setdefault(toolset_of[tools[0]], Tally()).add(rank == 1, rank <= 3)
    return {name: t.rates() for name, t in tallies.items()}


def section(now: dict[str, Any], before: dict[str, Any] | None) -> str:
    b = dict(before or {})
    if b:
        b["by_toolset"] = regrouped(b, now)
    lines = [
        BEGIN,
        "## Tool retrieval (`make eval`)",
        "",
        *(
            [
                "**Smoke run** (`--smoke`): one request per toolset scored by word overlap, not the model; the figures "
                "below mean nothing.",
                "",
            ]
            if now.get("smoke")
            else []
        ),
        f"{now['overall']['requests']} requests written in users' words (`tests/eval/requests.py`) ranked against "
        f"the live `tools/list` of all {now['bytes']['tools_all']} tools by cosine similarity of their name, title "
        "and description; model: WordLlama `l2_supercat` 256-d, weights bundled in the `wordllama` wheel "
        "(`pip install -e '.[eval]'`, nothing downloaded). A hit at top-1 means the best-ranked tool is right. "
        "*Before* is the descriptions as they were when the evaluation was written (`tests/eval/baseline.json`), "
        "tallied by today's toolsets (get_credit_balance has moved from billing to account since).",
        "",
        "| | before top-1 | before top-3 | now top-1 | now top-3 |",
        "|---|---:|---:|---:|---:|",
    ]
    bo = b.get("overall", {})
    lines.append(
        f"| all requests | {pct(bo.get('top1'))} | {pct(bo.get('top3'))} | "
        f"{pct(now['overall']['top1'])} | {pct(now['overall']['top3'])} |"
    )
    lines += [
        "",
        "| toolset | requests | before top-1 | before top-3 | now top-1 | now top-3 |",
        "|---|---:|---:|---:|---:|---:|",
    ]
    for name, t in now["by_toolset"].items():
        o = b.get("by_toolset", {}).get(name, {})
        lines.append(
            f"| {name} | {t['requests']} | {pct(o.get('top1'))} | {pct(o.get('top3'))} | "
            f"{pct(t['top1'])} | {pct(t['top3'])} |"
        )
    bb, nb = b.get("bytes", {}), now["bytes"]
    # "Before" over the same tools as now (get_credit_balance joined the default toolsets since).
    was = bb.get("per_tool", {})
    same = [was[n] for n in now["default_names"] if n in was]
    before_default = round(sum(same) / len(same), 1) if same else ""
    lines += [
        "",
        "Model-facing bytes per tool (name + title + description + inputSchema, compact UTF-8 JSON as listed):",
        "",
        "| tools | before | now |",
        "|---|---:|---:|",
        f"| default toolsets ({nb['tools_default']}) | {before_default} | {nb['default_per_tool']} |",
        f"| all toolsets ({nb['tools_all']}) | {bb.get('all_per_tool', '')} | {nb['all_per_tool']} |",
        "",
        "Most frequent confusions now (expected -> picked at top-1, times):",
        "",
    ]
    lines += [f"- `{e}` -> `{p}` ({n})" for e, p, n in now["confusions"]] or ["- none"]
    lines += ["", "<details><summary>Every top-1 miss now</summary>", ""]
    lines += [
        f"- {m['request']!r}: expected `{m['expected']}` (rank {m['rank']}), got `{m['picked']}`" for m in now["misses"]
    ]
    lines += ["", "</details>", END]
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
    parser.add_argument("--record-baseline", action="store_true", help="store these figures as the 'before'")
    parser.add_argument(
        "--smoke",
        action="store_true",
        help="one request per toolset, scored by word overlap (no model): shows the report still builds (make test)",
    )
    args = parser.parse_args()
    if args.smoke and args.record_baseline:
        parser.error("--smoke figures mean nothing: they cannot be the baseline")
    now = measure(smoke=args.smoke)
    if args.smoke:
        now["smoke"] = True
    if args.record_baseline:
        BASELINE.write_text(json.dumps(now, indent=1, sort_keys=True) + "\n")
        print(f"wrote {BASELINE}", file=sys.stderr)
    before = json.loads(BASELINE.read_text()) if BASELINE.exists() else None
    text = section(now, before)
    if args.out:
        write_section(args.out, text)
        print(f"wrote the eval section of {args.out}", file=sys.stderr)
    else:
        print(text)
    o = now["overall"]
    print(f"top-1 {pct(o['top1'])}, top-3 {pct(o['top3'])} over {o['requests']} requests", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
