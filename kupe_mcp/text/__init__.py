"""Text that leaves the process: secrets redacted from every log line, outside text kept quoted as data."""
