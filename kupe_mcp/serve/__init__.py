"""Serving: the server class and its runtime, transports (stdio, HTTP), the Apps views, and every SDK private hook."""
