"""Client API keys: a Secret-mounted file with one key per line.

Blank lines and lines starting with ``#`` are ignored.  Keys are kept only as SHA-256
digests; a presented key is hashed and compared with *every* stored digest using
``hmac.compare_digest`` (no early exit), so the time taken does not depend on which key
matched or how much of it matched.  The file is re-read when it changes (Kubernetes
updates a mounted Secret in place by swapping a symlink), checked at most every
``reload_interval`` seconds; a failed re-read keeps the previous keys.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import os
import re
import time

from .config import ConfigError

log = logging.getLogger("llm_gateway")


def key_id(key: str) -> str:
    """A short, non-reversible identifier of a key for access logs."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:12]


def _parse(text: str) -> list[bytes]:
    digests = []
    for line in text.splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            digests.append(hashlib.sha256(line.encode("utf-8")).digest())
    return digests


class KeyStore:
    def __init__(self, path: str, *, reload_interval: float = 5.0) -> None:
        self.path = path
        self.reload_interval = reload_interval
        self._digests: list[bytes] = []
        self._signature: tuple[int, int, int] | None = None
        self._next_check = 0.0
        try:
            self._load()
        except OSError as exc:
            raise ConfigError(f"cannot read API keys file {path}: {exc}") from exc
        if not self._digests:
            raise ConfigError(f"API keys file {path} has no keys")

    def _load(self) -> None:
        st = os.stat(self.path)
        signature = (st.st_ino, st.st_mtime_ns, st.st_size)
        if signature == self._signature:
            return
        with open(self.path, encoding="utf-8") as fh:
            digests = _parse(fh.read())
        if self._signature is not None:
            if not digests:
                log.error(
                    "api keys file is now empty; keeping the previous keys",
                    extra={"event": "keys_reload_failed", "path": self.path},
                )
                return
            log.info("api keys reloaded", extra={"event": "keys_reloaded", "count": len(digests)})
        self._digests = digests
        self._signature = signature

    def _maybe_reload(self) -> None:
        now = time.monotonic()
        if now < self._next_check:
            return
        self._next_check = now + self.reload_interval
        try:
            self._load()
        except (OSError, UnicodeDecodeError) as exc:
            log.error(
                "cannot re-read api keys file; keeping the previous keys",
                extra={"event": "keys_reload_failed", "error": str(exc)},
            )

    def check(self, presented: str) -> bool:
        self._maybe_reload()
        digest = hashlib.sha256(presented.encode("utf-8", "surrogateescape")).digest()
        ok = False
        for stored in self._digests:
            ok |= hmac.compare_digest(digest, stored)
        return ok


#: A token: visible ASCII only (RFC 6750 b64token is narrower; keys are often wider).
_TOKEN = re.compile(rb"[\x21-\x7e]{1,%d}" % 1024)


def bearer_token(header: str | bytes | None) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header, else None.

    Anything else (another scheme, control or non-ASCII bytes, invalid UTF-8, a token
    over 1024 bytes) is None, which the caller answers with 401: a bad header is a bad
    key, never an internal error."""
    if not header:
        return None
    if isinstance(header, str):
        try:
            header = header.encode("ascii")
        except UnicodeEncodeError:
            return None
    scheme, _, token = header.strip(b" \t").partition(b" ")
    if scheme.lower() != b"bearer":
        return None
    token = token.strip(b" \t")
    if not _TOKEN.fullmatch(token):
        return None
    return token.decode("ascii")
