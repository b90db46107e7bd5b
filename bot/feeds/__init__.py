"""Feed adapters: fetch feed documents (``fetch``) and parse them into ``Item`` (``parse``).

``fetch`` leans on ``fetch_errors`` (the problem texts) and ``decode`` (bounded
gzip/deflate); ``parse`` reads RSS and Atom itself, JSON Feed through
``jsonfeed``, and both settle their entries in ``entries`` and their text in
``text``. This package is the only code that talks to httpx and feedparser;
every failure leaves it as a ``FeedError`` naming the feed URL.
"""
