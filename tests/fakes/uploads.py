"""An in-memory ``UploadMemory`` for publisher tests: what each target has, by photo sha256."""

from __future__ import annotations


class MemoryUploads:
    """Remembers uploads in a dict, and counts the calls so tests can see the memory used."""

    def __init__(self) -> None:
        self.rows: dict[tuple[str, str], tuple[str, str | None]] = {}
        self.remembered = 0

    def known(self, target: str, sha256: str) -> tuple[str, str | None] | None:
        return self.rows.get((target, sha256))

    def remember(self, target: str, sha256: str, remote_id: str, url: str | None) -> None:
        self.rows[(target, sha256)] = (remote_id, url)
        self.remembered += 1
