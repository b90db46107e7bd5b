"""A digest of a fetched body, so that an unchanged body is not parsed twice.

Why: many servers send no ETag or Last-Modified (or a new ETag on every request), so
they answer every poll with the whole document even when nothing changed. Parsing
it again would find only items already stored: the parse is the costly part of such
a poll, and its result is already known. The digest covers everything the parse
depends on besides the feed's URL (fixed per feed): the bytes, the declared
Content-Type (its charset decides the decoding) and the parser's version, so an
upgrade that reads feeds differently parses every feed once more.
"""

from __future__ import annotations

import hashlib

import feedparser

from bot import __version__

_PARSER = f"claimbot {__version__}; feedparser {feedparser.__version__}".encode()


def body_hash(body: bytes, content_type: str | None) -> str:
    """A 128-bit hex digest of ``body`` as served with ``content_type``."""
    digest = hashlib.blake2b(_PARSER, digest_size=16)
    digest.update(b"\0" + (content_type or "").encode("utf-8", "replace") + b"\0")
    digest.update(body)
    return digest.hexdigest()
