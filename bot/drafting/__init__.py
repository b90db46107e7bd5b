"""Draft claims from an article: one per attributed statement, for a human to finish.

``claimbot claims draft ARTICLE`` turns a news article into *drafts* of watch-list
claims. A claim worth watching is something somebody asserted, so only sentences
that report an assertion become drafts: a verb of saying with its speaker
(``the ministry said``, ``X told Reuters that``), ``according to X``, a quotation
with a speaker, or a hedge (``reportedly``); English, with the commonest Spanish
(``según``, ``dijo``) and Russian (``заявил``, ``по словам``) forms, as the feeds are
EN/ES/RU.

The flow, all pure (no I/O, no clock)::

    text -> markdown stripped line by line (line numbers kept) -> paragraphs
         -> sentences (bot.matching.sentences) -> attributed ones -> near-duplicates dropped
         -> per sentence: source, entities, key terms -> id, title, query -> DraftClaim
    drafts -> render_drafts -> YAML text (every draft ``enabled: false``)

The heuristics are deliberately simple and predictable: capitalised spans for
entities, the rarest longer words of the sentence for key terms, a Snowball stem
for wildcards. A draft is a starting point that a human rewrites in their own
words and widens with synonyms; nothing here is ever activated automatically.
Every query is parsed with the claim query parser and checked to hold on its own
sentence before it is offered.

The package, leaf modules first: ``words`` (tokens and the EN/ES/RU word lists),
``markdown`` (article -> sentences with line numbers), ``attribution`` (who said it),
``terms`` (entities, key terms, query), ``draft`` (sentence -> ``DraftClaim``) and
``render`` (YAML).
"""

from bot.drafting.draft import MAX_ID_LENGTH, MAX_TITLE_LENGTH, DraftClaim, draft_claims
from bot.drafting.markdown import article_sentences, strip_markdown
from bot.drafting.render import render_drafts

__all__ = [
    "MAX_ID_LENGTH",
    "MAX_TITLE_LENGTH",
    "DraftClaim",
    "article_sentences",
    "draft_claims",
    "render_drafts",
    "strip_markdown",
]
