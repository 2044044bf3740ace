"""Warta's pure core: the story lifecycle, role rules and SLA arithmetic (no I/O)."""
