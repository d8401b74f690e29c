"""Unit tests: one module of ``kupe_mcp`` at a time, Kupe answered by ``httpx2.MockTransport`` (no sandbox, no MCP)."""
