"""Undo a response's Content-Encoding (gzip, deflate) in bounded steps.

httpx inflates each network read whole, so one 64 KB read of a gzip bomb
becomes ~64 MB before anyone can count it. ``BoundedDecoder`` inflates at most
the number of bytes it is asked for at a time, so the fetcher can stop at its
size cap having held no more than that in memory. zlib only; no httpx here.
"""

from __future__ import annotations

import zlib
from collections.abc import Iterator
from typing import Any

from bot.errors import FeedError


def is_identity(encoding: str) -> bool:
    """Whether a Content-Encoding value means "not encoded"."""
    return encoding.strip().lower() in ("", "identity")


class BoundedDecoder:
    """Undoes Content-Encoding (gzip, deflate) without ever inflating more than asked."""

    def __init__(self, url: str, encoding: str) -> None:
        self._url = url
        self._encoding = encoding.strip().lower()
        self._raw_deflate_tried = False
        self._zlib: Any = None  # zlib's decompress object type is not public
        if self._encoding in ("gzip", "x-gzip"):
            self._zlib = zlib.decompressobj(zlib.MAX_WBITS | 16)
        elif self._encoding == "deflate":
            self._zlib = zlib.decompressobj()
        elif not is_identity(self._encoding):
            raise FeedError(url, f"unsupported Content-Encoding {encoding!r}")

    def decode(self, data: bytes, limit: int) -> Iterator[bytes]:
        """Yield decoded pieces of ``data``, each at most ``limit`` bytes."""
        if self._zlib is None:
            yield data
            return
        limit = max(1, limit)
        while True:
            try:
                piece = self._zlib.decompress(data, limit)
            except zlib.error as exc:
                if self._encoding == "deflate" and not self._raw_deflate_tried:
                    # "deflate" is often sent raw, without the zlib header.
                    self._raw_deflate_tried = True
                    self._zlib = zlib.decompressobj(-zlib.MAX_WBITS)
                    continue
                raise self._error(exc) from exc
            self._raw_deflate_tried = True
            data = self._zlib.unconsumed_tail
            if piece:
                yield piece
            if not data and len(piece) < limit:
                return

    def flush(self) -> bytes:
        """What the decoder still holds once the body has ended."""
        if self._zlib is None:
            return b""
        try:
            return bytes(self._zlib.flush())
        except zlib.error as exc:
            raise self._error(exc) from exc

    def _error(self, exc: zlib.error) -> FeedError:
        return FeedError(self._url, f"could not decode the {self._encoding} body: {exc}")
