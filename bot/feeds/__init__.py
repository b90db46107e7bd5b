"""Feed adapters: fetch feed documents (``fetch``) and parse them into ``Item`` (``parse``).

These are the only modules that talk to httpx and feedparser; every failure leaves
them as a ``FeedError`` naming the feed URL.
"""
