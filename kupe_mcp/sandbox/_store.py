"""SQLite persistence for the sandbox.

Most objects are JSON documents in one ``docs`` table keyed by ``(kind, id)``: the
Kupe API itself is document-shaped (``ArbitraryJson`` almost everywhere), the data
set is tiny, and a single generic table keeps the emulator small while still
persisting to a file when asked.  Knowledge chunks live in an FTS5 table so search
uses real BM25 ranking.
"""

from __future__ import annotations

import builtins
import json
import re
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

Doc = dict[str, Any]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS docs (
    kind TEXT NOT NULL,
    id TEXT NOT NULL,
    user_id TEXT,
    seq INTEGER NOT NULL,
    body TEXT NOT NULL,
    PRIMARY KEY (kind, id)
);
CREATE INDEX IF NOT EXISTS docs_kind_user ON docs (kind, user_id, seq);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE VIRTUAL TABLE IF NOT EXISTS chunks USING fts5(
    text, file_id UNINDEXED, user_id UNINDEXED, chunk_index UNINDEXED,
    tokenize = 'porter unicode61'
);
"""

_WORD = re.compile(r"\w+", re.UNICODE)


def fts_query(text: str) -> str | None:
    """Turn free user text into a safe FTS5 MATCH expression (or None if it has no words).

    Every word is double-quoted so FTS operators, quotes and punctuation in user
    input can never produce a SQLite syntax error; words are OR-ed so partial
    matches still rank (BM25 rewards documents matching more of them).
    """
    words = [w.lower() for w in _WORD.findall(text)][:32]
    if not words:
        return None
    return " OR ".join(f'"{w}"' for w in dict.fromkeys(words))


class Store:
    """One SQLite connection shared by every request, serialised by a re-entrant lock.

    The lock is re-entrant so a handler can hold :meth:`transaction` while calling
    the simple accessors, which take the lock themselves.
    """

    def __init__(self, path: str) -> None:
        self._conn = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        self._depth = 0
        with self._lock:
            self._conn.executescript(_SCHEMA)

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[None]:
        """Group writes atomically; nested use joins the outer transaction."""
        with self._lock:
            outer = self._depth == 0
            if outer:
                self._conn.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield
            except BaseException:
                self._depth -= 1
                if outer:
                    self._conn.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outer:
                self._conn.execute("COMMIT")

    # -- documents -----------------------------------------------------------------

    def get(self, kind: str, doc_id: str) -> Doc | None:
        with self._lock:
            row = self._conn.execute("SELECT body FROM docs WHERE kind = ? AND id = ?", (kind, doc_id)).fetchone()
        return None if row is None else _load(row[0])

    def put(self, kind: str, doc: Doc) -> Doc:
        """Insert or replace ``doc`` (which must carry ``id``); keeps insertion order on update."""
        with self._lock:
            self._conn.execute(
                """INSERT INTO docs (kind, id, user_id, seq, body)
                   VALUES (?, ?, ?, (SELECT COALESCE(MAX(seq), 0) + 1 FROM docs), ?)
                   ON CONFLICT (kind, id) DO UPDATE SET body = excluded.body, user_id = excluded.user_id""",
                (kind, doc["id"], doc.get("user_id"), json.dumps(doc)),
            )
        return doc

    def delete(self, kind: str, doc_id: str) -> bool:
        with self._lock:
            cur = self._conn.execute("DELETE FROM docs WHERE kind = ? AND id = ?", (kind, doc_id))
        return cur.rowcount > 0

    def list(self, kind: str, user_id: str | None = None, **match: Any) -> builtins.list[Doc]:
        """Documents of ``kind`` in insertion order, optionally for one user and equal on top-level keys."""
        with self._lock:
            if user_id is None:
                rows = self._conn.execute("SELECT body FROM docs WHERE kind = ? ORDER BY seq", (kind,)).fetchall()
            else:
                rows = self._conn.execute(
                    "SELECT body FROM docs WHERE kind = ? AND user_id = ? ORDER BY seq", (kind, user_id)
                ).fetchall()
        docs = [_load(r[0]) for r in rows]
        return [d for d in docs if all(d.get(k) == v for k, v in match.items())]

    def list_flagged(self, kind: str, flag: str) -> builtins.list[Doc]:
        """Documents whose top-level boolean ``flag`` is true (e.g. calls still in progress), via JSON1."""
        with self._lock:
            rows = self._conn.execute(
                "SELECT body FROM docs WHERE kind = ? AND json_extract(body, ?) = 1 ORDER BY seq",
                (kind, f"$.{flag}"),
            ).fetchall()
        return [_load(r[0]) for r in rows]

    def find(self, kind: str, **match: Any) -> Doc | None:
        found = self.list(kind, **match)
        return found[0] if found else None

    # -- meta ----------------------------------------------------------------------

    def meta(self, key: str) -> str | None:
        with self._lock:
            row = self._conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return None if row is None else str(row[0])

    def set_meta(self, key: str, value: str) -> None:
        with self._lock:
            self._conn.execute("INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)", (key, value))

    # -- knowledge chunks ----------------------------------------------------------

    def add_chunks(self, file_id: str, user_id: str, texts: builtins.list[str]) -> None:
        with self._lock:
            self._conn.executemany(
                "INSERT INTO chunks (text, file_id, user_id, chunk_index) VALUES (?, ?, ?, ?)",
                [(t, file_id, user_id, i) for i, t in enumerate(texts)],
            )

    def delete_chunks(self, file_id: str) -> None:
        with self._lock:
            self._conn.execute("DELETE FROM chunks WHERE file_id = ?", (file_id,))

    def search_chunks(
        self, user_id: str, file_ids: builtins.list[str], query: str, limit: int
    ) -> builtins.list[tuple[str, float]]:
        """Best chunks first as ``(text, bm25)``; bm25 is negative and lower means more relevant."""
        match = fts_query(query)
        if match is None or not file_ids:
            return []
        marks = ",".join("?" for _ in file_ids)
        with self._lock:
            rows = self._conn.execute(
                f"""SELECT text, bm25(chunks) AS score FROM chunks
                    WHERE chunks MATCH ? AND user_id = ? AND file_id IN ({marks})
                    ORDER BY score LIMIT ?""",
                (match, user_id, *file_ids, limit),
            ).fetchall()
        return [(str(r[0]), float(r[1])) for r in rows]


def _load(body: str) -> Doc:
    doc: Doc = json.loads(body)
    return doc
