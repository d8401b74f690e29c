"""Tool-retrieval evaluation (``make eval``): do plain requests find their tool? A report, not a gate."""
