"""Knowledge base: file upload + chunking into FTS5, agent-file mappings, semantic/hybrid search.

"Semantic" search is emulated with BM25 keyword ranking (no embeddings offline); the
response shapes match Kupe's ``RagSearchResponseBody`` exactly.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import PurePosixPath

from pydantic import BaseModel, Field
from starlette.datastructures import UploadFile
from starlette.responses import Response

from ._http import Ctx, RouteTable, UuidStr, fail, invalid, is_uuid, not_found, ok, validate
from ._routes_core import load_agent
from ._state import new_id
from ._store import Doc

routes = RouteTable()

SUPPORTED = {
    ".txt": "text/plain",
    ".md": "text/markdown",
    ".markdown": "text/markdown",
    ".csv": "text/csv",
    ".json": "application/json",
    ".html": "text/html",
    ".htm": "text/html",
}
MAX_BYTES = 5 * 1024 * 1024
CHUNK_CHARS = 500
CHUNK_OVERLAP = 80
_WORD = re.compile(r"\w+", re.UNICODE)


class _TextExtractor(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.parts: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        if not self._skip:
            self.parts.append(data)


def extract_text(ext: str, raw: bytes) -> str:
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        fail(400, "File could not be decoded as UTF-8 text")
    if ext in (".html", ".htm"):
        parser = _TextExtractor()
        parser.feed(text)
        return " ".join(parser.parts)
    if ext == ".json":
        try:
            return json.dumps(json.loads(text), indent=1, ensure_ascii=False)
        except ValueError:
            fail(400, "File has a .json extension but is not valid JSON")
    return text


def chunk_text(text: str, size: int = CHUNK_CHARS, overlap: int = CHUNK_OVERLAP) -> list[str]:
    """~``size``-character chunks cut at word boundaries, each overlapping the previous by ~``overlap``."""
    text = " ".join(text.split())
    chunks: list[str] = []
    start = 0
    while start < len(text):
        end = min(start + size, len(text))
        if end < len(text):
            cut = text.rfind(" ", start + size // 2, end)
            end = cut if cut > start else end
        chunks.append(text[start:end].strip())
        if end >= len(text):
            break
        nxt = max(end - overlap, start + 1)
        space = text.find(" ", nxt, end)
        start = space + 1 if space != -1 else nxt
    return [c for c in chunks if c]


def file_view(doc: Doc) -> Doc:
    return dict(doc)


def load_file(ctx: Ctx, file_id: str | None = None) -> Doc:
    file_id = file_id or ctx.path("file_id")
    doc = ctx.store.get("file", file_id)
    if doc is None or doc["user_id"] != ctx.uid:
        not_found("File", file_id)
    return doc


@routes.get("/api/v1/files/supported-formats")
async def supported_formats(ctx: Ctx) -> Response:
    data = {
        "extensions": sorted(SUPPORTED),
        "mime_types": sorted(set(SUPPORTED.values())),
        "max_file_size_bytes": MAX_BYTES,
    }
    return ok({"message": "Supported file formats", "data": data})


@routes.post("/api/v1/files/upload")
async def upload_file(ctx: Ctx) -> Response:
    async with ctx.request.form() as form:
        upload = form.get("file")
        agent_id = str(form.get("agent_id") or "") or None
        user_id = str(form.get("user_id") or "") or None
        if not isinstance(upload, UploadFile):
            invalid(["body", "file"], "Field required", None, "missing")
        filename = upload.filename or "upload.txt"
        raw = await upload.read()
    if user_id and user_id != ctx.uid:
        fail(403, "user_id does not match the authenticated user")
    if agent_id:
        if not is_uuid(agent_id):
            fail(400, f"Invalid agent_id '{agent_id}': expected a UUID")
        load_agent(ctx, agent_id=agent_id)
    ext = PurePosixPath(filename).suffix.lower()
    if ext not in SUPPORTED:
        fail(400, f"Unsupported file type '{ext or filename}'. Supported formats: {', '.join(sorted(SUPPORTED))}")
    if len(raw) > MAX_BYTES:
        fail(400, f"File too large ({len(raw)} bytes); the limit is {MAX_BYTES} bytes")
    chunks = chunk_text(extract_text(ext, raw))
    if not chunks:
        fail(400, "File contains no extractable text")
    now = ctx.now_iso()
    file_id = new_id()
    doc = {
        "id": file_id,
        "user_id": ctx.uid,
        "agent_id": agent_id,
        "original_filename": filename,
        "storage_file_id": f"sandbox/{ctx.uid}/{file_id}{ext}",
        "file_type": ext.lstrip("."),
        "mime_type": SUPPORTED[ext],
        "file_size": len(raw),
        "chunk_count": len(chunks),
        "status": "processed",
        "description": None,
        "created_at": now,
        "updated_at": now,
    }
    with ctx.store.transaction():
        ctx.store.put("file", doc)
        ctx.store.add_chunks(file_id, ctx.uid, chunks)
    return ok({"message": "File uploaded and processed successfully", "data": file_view(doc)})


@routes.get("/api/v1/files/user/me")
async def my_files(ctx: Ctx) -> Response:
    files = [file_view(f) for f in ctx.store.list("file", user_id=ctx.uid)]
    return ok({"message": "Files retrieved successfully", "data": {"files": files, "total": len(files)}})


@routes.get("/api/v1/files/{file_id}")
async def get_file(ctx: Ctx) -> Response:
    doc = load_file(ctx)
    base = f"https://sandbox.kupe.local/storage/{doc['storage_file_id']}"
    data = {
        **file_view(doc),
        "view_url": f"{base}?disposition=inline",
        "download_url": f"{base}?disposition=attachment",
    }
    return ok({"message": "File retrieved successfully", "data": data})


class FileUpdateIn(BaseModel):
    original_filename: str | None = Field(None, min_length=1)
    description: str | None = None
    agent_id: str | None = None


@routes.put("/api/v1/files/{file_id}")
async def update_file(ctx: Ctx) -> Response:
    doc = load_file(ctx)
    body = await ctx.body(FileUpdateIn)
    changes = body.model_dump(exclude_unset=True)
    if changes.get("agent_id"):
        load_agent(ctx, agent_id=changes["agent_id"])
    doc.update(changes, updated_at=ctx.now_iso())
    ctx.store.put("file", doc)
    return ok({"message": "File updated successfully", "data": file_view(doc)})


@routes.delete("/api/v1/files/{file_id}")
async def delete_file(ctx: Ctx) -> Response:
    doc = load_file(ctx)
    with ctx.store.transaction():
        ctx.store.delete("file", doc["id"])
        ctx.store.delete_chunks(doc["id"])
        for mapping in ctx.store.list("file_map", upload_file_id=doc["id"]):
            ctx.store.delete("file_map", mapping["id"])
    return ok({"message": "File deleted successfully", "data": {"id": doc["id"]}})


# -- agent <-> file mappings -----------------------------------------------------------


class MappingIn(BaseModel):
    agent_id: UuidStr
    upload_file_id: UuidStr


@routes.post("/api/v1/agent-files-mappings/create")
async def create_file_mapping(ctx: Ctx) -> Response:
    body = validate(MappingIn, await ctx.body_obj())
    agent = load_agent(ctx, agent_id=body.agent_id)
    if not is_uuid(body.upload_file_id):
        not_found("File", body.upload_file_id)
    doc = load_file(ctx, body.upload_file_id)
    existing = ctx.store.find("file_map", agent_id=agent["id"], upload_file_id=doc["id"])
    if existing:
        return ok({"message": "Mapping already exists", "data": existing})
    mapping = {
        "id": new_id(),
        "user_id": ctx.uid,
        "agent_id": agent["id"],
        "upload_file_id": doc["id"],
        "created_at": ctx.now_iso(),
    }
    return ok({"message": "Mapping created successfully", "data": ctx.store.put("file_map", mapping)})


@routes.get("/api/v1/agent-files-mappings/agent/{agent_id}")
async def list_file_mappings(ctx: Ctx) -> Response:
    agent = load_agent(ctx)
    rows = []
    for mapping in ctx.store.list("file_map", agent_id=agent["id"]):
        doc = ctx.store.get("file", mapping["upload_file_id"])
        rows.append({**mapping, "file": file_view(doc) if doc else None})
    return ok({"message": "Mappings retrieved successfully", "data": rows})


@routes.delete("/api/v1/agent-files-mappings/agent/{agent_id}/file/{upload_file_id}")
async def delete_file_mapping(ctx: Ctx) -> Response:
    agent = load_agent(ctx)
    file_id = ctx.path("upload_file_id")
    mapping = ctx.store.find("file_map", agent_id=agent["id"], upload_file_id=file_id)
    if mapping is None:
        fail(404, f"Mapping for agent {agent['id']} and file {file_id} not found")
    ctx.store.delete("file_map", mapping["id"])
    return ok({"message": "File detached from agent", "data": mapping})


# -- search ----------------------------------------------------------------------------


class SemanticIn(BaseModel):
    query: str
    limit: int = Field(10, ge=1, le=100)
    similarity_threshold: float = 0.5


class HybridIn(SemanticIn):
    limit: int = Field(5, ge=1, le=100)
    keyword_weight: float = Field(0.4, ge=0)
    semantic_weight: float = Field(0.6, ge=0)
    similarity_threshold: float = 0.85


@dataclass(frozen=True)
class Hit:
    text: str
    distance: float  # emulated cosine distance in (0, 1): lower is more similar
    sparse: float  # BM25 relative to the best hit, in (0, 1]


def _score(query: str, hits: list[tuple[str, float]]) -> list[Hit]:
    """Map BM25 (corpus-relative, unbounded) onto a bounded, vector-like distance.

    Distance blends how many query words a chunk covers with its BM25 relative to the
    best hit, so a chunk matching every word with the top BM25 lands near 0.1 and a
    weak partial match near 0.9, whatever the corpus size.
    """
    words = {w.lower().rstrip("s") for w in _WORD.findall(query)} or {""}
    top = max((-score for _, score in hits), default=0.0) or 1.0
    scored = []
    for text, score in hits:
        lowered = text.lower()
        coverage = sum(w in lowered for w in words) / len(words)
        relative = max(-score, 0.0) / top
        distance = round(1 - 0.9 * (0.7 * coverage + 0.3 * relative), 4)
        scored.append(Hit(text, distance, round(max(relative, 1e-4), 4)))
    return scored


async def _hits(ctx: Ctx, model: type[SemanticIn]) -> tuple[SemanticIn, list[Hit]]:
    agent_id = ctx.q_uuid("agent_id")
    if agent_id is None:
        fail(400, "agent_id query parameter is required")
    agent = load_agent(ctx, agent_id=agent_id)
    body = await ctx.body(model)
    if not body.query.strip():
        fail(400, "query must not be empty")
    tagged = {f["id"] for f in ctx.store.list("file", user_id=ctx.uid, agent_id=agent["id"])}
    mapped = {m["upload_file_id"] for m in ctx.store.list("file_map", agent_id=agent["id"])}
    hits = ctx.store.search_chunks(ctx.uid, sorted(tagged | mapped), body.query, body.limit)
    return body, _score(body.query, hits)


def _reply(data: list[str], scores: list[object]) -> Response:
    message = f"Found {len(data)} result(s)" if data else "No results found"
    return ok({"success": True, "message": message, "data": data, "scores": scores})


@routes.post("/api/v1/search/semantic")
async def semantic_search(ctx: Ctx) -> Response:
    _, hits = await _hits(ctx, SemanticIn)
    hits.sort(key=lambda h: h.distance)
    return _reply([h.text for h in hits], [h.distance for h in hits])


@routes.post("/api/v1/search/hybrid")
async def hybrid_search(ctx: Ctx) -> Response:
    body, hits = await _hits(ctx, HybridIn)
    assert isinstance(body, HybridIn)
    scored = [
        (
            round(body.semantic_weight * (1 - h.distance) + body.keyword_weight * h.sparse, 4),
            h,
        )
        for h in hits
    ]
    scored.sort(key=lambda item: -item[0])
    scores: list[object] = [
        {"combined_score": combined, "distance": h.distance, "sparse_score": h.sparse} for combined, h in scored
    ]
    return _reply([h.text for _, h in scored], scores)
