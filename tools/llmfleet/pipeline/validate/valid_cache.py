"""Objects already known to pass their schema, remembered across runs.

A second ``check`` with nothing changed validates the same objects against the same
schemas; jsonschema's verdict cannot differ, so it is not asked again.  The key of an
object is a SHA-256 over: this cache's format version, the jsonschema package version, the
schema's fingerprint (its content, and for the bundled schemas the kubernetes-validate
version; ``SchemaHit.fingerprint``) and the object's canonical JSON.  Only passing objects
are remembered: an object with errors is validated every time, so its findings are always
jsonschema's own.

The keys live in one file, ``validate/valid-objects`` under the cache folder
(``.llmfleet-cache/`` or ``$LLMFLEET_CACHE_DIR``); it keeps the newest ``MAX_ENTRIES``.
Deleting it, ``make clean`` or ``--no-cache`` clears or bypasses it.  A damaged or
unwritable file only costs a validation.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import threading
from pathlib import Path
from typing import Any

from llmfleet.pipeline.validate.versions import distribution_version

FORMAT = "llmfleet-valid-objects-2"  # 2: int32 ranges checked
MAX_ENTRIES = 200_000
_JSONSCHEMA = distribution_version("jsonschema")
FILE_NAME = "valid-objects"


class ValidCache:
    def __init__(self, folder: Path | None):
        self.path = folder / FILE_NAME if folder else None
        self._lock = threading.Lock()
        self._known: dict[str, None] = {}  # insertion-ordered: oldest first
        self._added = False
        if self.path is not None:
            try:
                lines = self.path.read_text(encoding="ascii").split()
            except (OSError, UnicodeDecodeError):
                lines = []
            self._known = dict.fromkeys(k for k in lines if len(k) == 64)

    @staticmethod
    def key(fingerprint: str, data: Any) -> str:
        hasher = hashlib.sha256()
        hasher.update(f"{FORMAT}\0{_JSONSCHEMA}\0{fingerprint}\0".encode())
        hasher.update(
            json.dumps(data, sort_keys=True, separators=(",", ":"), default=str, ensure_ascii=False).encode(
                "utf-8", "surrogatepass"
            )
        )
        return hasher.hexdigest()

    def known_valid(self, key: str) -> bool:
        with self._lock:
            return key in self._known

    def remember(self, key: str) -> None:
        with self._lock:
            if key not in self._known:
                self._known[key] = None
                self._added = True

    def save(self) -> None:
        """Write the keys (the newest MAX_ENTRIES) atomically; nothing when none was added."""
        if self.path is None:
            return
        with self._lock:
            if not self._added:
                return
            keys = list(self._known)[-MAX_ENTRIES:]
            self._added = False
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(prefix=f".{FILE_NAME}.", dir=self.path.parent)
            try:
                with os.fdopen(fd, "w", encoding="ascii") as out:
                    out.write("\n".join(keys) + "\n")
                os.replace(tmp, self.path)
            except BaseException:
                Path(tmp).unlink(missing_ok=True)
                raise
        except OSError:
            pass  # an unwritable cache only costs validations next time
