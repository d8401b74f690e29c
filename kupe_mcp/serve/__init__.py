"""Serving kupe-app-mcp: HTTP transport pieces (OAuth sign-in lives in ``oauth``)."""
