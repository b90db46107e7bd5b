"""Story grouping quality: precision / recall of ``same_story`` over labelled pairs of real items.

    python bench/stories.py [--feeds ../shared/feeds/real-2026] [--seed 1] [--per-kind 300]
                            [--per-feed 30] [--max-distance 20] [--max-body-distance 12]
                            [--show-errors N]

Items are the 6,500-odd entries of the 200 real feeds in ``../shared/feeds/real-2026`` (captured
February 2026), parsed with claimbot's own ``parse_feed``. Pairs:

Positives (the same story):

- ``real/same-link``: one link in two feeds (TIME's feeds repeat articles);
- ``real/republished``: one feed, a new link, the same title and the same non-empty summary;
- ``real/wire``: the same agency copy (AP, Reuters) on two outlets, labelled by hand below
  (``WIRE_COPIES``): truncated ledes ("…"), a byline and dateline, a dropped word in the title,
  a lightly revised lede;
- ``synthetic/*``: real news items with one realistic copying change each (outlet suffix or
  prefix on the title, a dateline, the summary truncated to >= 60 % at a sentence or word
  boundary, one sentence added, HTML entities / typographic quotes and dashes, case changes,
  accents dropped) and ``synthetic/combined`` with two or three of them at once;
- ``synthetic/retitled-reword`` and ``synthetic/retitled-lede`` (the copies the body fingerprint
  is for): the summary kept, lightly edited or not (cut at a sentence boundary, an attribution
  such as "(via World Wire)" appended, two or three words of a clause dropped: none, one or two
  of these), under a new headline. ``reword``: the title's two halves swapped around a
  connective ("{b}, {a}", "{b} as {a}", "{a}: {b}", "{b}, sources say, as {a}"...), a word
  dropped from a half, one or two names or long words of the lede brought in; ``lede``: the
  summary's first clause of six words or more (at most 14 words) as the title, as aggregators
  and agencies do.

Negatives (different stories that look alike, the case that hides an alert):

- ``negative/same-feed``: pairs of items of one feed (same outlet, same beat, same boilerplate);
- ``negative/title-words``: any two items whose titles share >= 2 content words ("Ardour 8.11
  released" / "Ardour 8.12 released", two outlets' own reports on Jesse Jackson's death);
- ``negative/entities``: two items of different feeds naming >= 2 of the same named entities
  (capitalised words: "Iran", "Geneva", "Rubio", "Orban");
- ``negative/same-opening``: two items of one feed whose summaries open with the same three
  content words (podcast, series and status templates, "This is a guest post by", "Thanks to
  PCBWay for"), at most ``--per-feed`` a feed;
- ``negative/similar-summary``: two items, any feeds, whose summaries share >= 30 % of their
  content words (both kinds are where a summary-only rule would merge wrongly).

Pairs with identical normalised titles but different text (a blog's "Roblox" status changes, a
talk given twice) are left out of both sides: same title, different text is ambiguous; so are
one feed's items with one summary under two titles in the two new negative kinds (the older
kinds keep them). The new kinds draw from their own random generator, so the older pairs are
the same as before they were added.

Figures: for the title + summary fingerprint alone, over the older pairs, per distance 0..N:
TP / FP / FN, precision, recall, F1, F0.5 and the false-positive rate over the negatives (the
balance-free figure: each comparison with an unrelated story of the same claim risks a wrong
merge with about that probability); recall per positive kind and FPR per negative kind at the
module's ``SAME_STORY_MAX_DISTANCE``. Then, over all pairs, the combined rule of ``same_story``
with body fingerprints: F0.5 for each minimum body length W and body distance B, the figures by
B at the module's ``MIN_BODY_WORDS`` and by W at its ``BODY_MAX_DISTANCE``, today's rule and the
combined rule side by side (all pairs, older pairs), recall / FPR per kind for both; with
``--show-errors N``, the wrong merges and the missed copies; fingerprint speed.
"""

from __future__ import annotations

import argparse
import itertools
import random
import re
import sys
import time
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from bot.errors import FeedError  # noqa: E402
from bot.feeds.parse import parse_feed  # noqa: E402
from bot.matching import stories  # noqa: E402
from bot.matching.lexical import STOPWORDS  # noqa: E402
from bot.matching.normalize import normalize, tokenize  # noqa: E402

DEFAULT_FEEDS = REPO.parent / "shared" / "feeds" / "real-2026"

# The same agency story on two outlets, found by looking at every cross-feed pair whose titles or
# summaries overlap strongly (Jaccard >= 0.6 / 0.3) and reading them. (feed, title start).
# Independent reports of one event by different newsrooms (the BBC and the Guardian on Jesse
# Jackson's death) are *not* here: they are different stories and fall among the negatives.
WIRE_COPIES: list[tuple[tuple[str, str], tuple[str, str]]] = [
    # Japan Today (AP, lede cut with "…") / Al-Monitor (Reuters, byline + dateline, full lede).
    (
        ("18138c717652f678", "Hezbollah rejects disarmament plan and government's"),
        ("72fea1ebfd02e90a", "Hezbollah rejects disarmament plan and government's"),
    ),
    # Japan Today (AP, cut with "…") / NPR (AP, the whole lede).
    (
        ("18138c717652f678", "Australia won't repatriate 34 women and children from Syria"),
        ("7be307059415227d", "Australia won't repatriate 34 women and children from Syria"),
    ),
    # ABC News wire (AP's revised version: new title words, lede rewritten around the PM).
    (
        ("18138c717652f678", "Australia won't repatriate 34 women and children from Syria"),
        ("f9c17f360c71def1", "Australia won't repatriate 34 women and children linked to IS"),
    ),
    (
        ("7be307059415227d", "Australia won't repatriate 34 women and children from Syria"),
        ("f9c17f360c71def1", "Australia won't repatriate 34 women and children linked to IS"),
    ),
    # AP on Japan Today / on ABC News: "a corruption probe" -> "corruption allegations".
    (
        ("18138c717652f678", "Peru's Congress removes interim President Jerí as he faces a"),
        ("f9c17f360c71def1", "Peru's Congress removes interim President Jerí as he faces co"),
    ),
    # AP on Japan Today / on ABC News, lede revised after the meeting.
    (
        ("18138c717652f678", "Macron holds talks with India's Modi to boost economic"),
        ("f9c17f360c71def1", "France's Macron holds bilateral talks with India's Modi"),
    ),
    # AP on Japan Today (cut with "…") / Dawn (two paragraphs; "Beach" dropped from the title).
    (
        ("18138c717652f678", "Accused Bondi Beach killer Naveed Akram appears in court"),
        ("ce5f942d1cd40fc0", "Accused Bondi killer Naveed Akram appears in court"),
    ),
]

OUTLET_SUFFIXES = [
    " - Reuters",
    " | Reuters",
    " | BBC News",
    " - BBC News",
    " — The Guardian",
    " - The New York Times",
    " | AP News",
    " - Al Jazeera",
    " : NPR",
    " – DW",
    " | CNN Politics",
    " - The Washington Post",
]
TITLE_PREFIXES = ["EXCLUSIVE: ", "BREAKING: ", "UPDATE 2-", "WATCH: ", "Analysis: ", "LIVE: "]
DATELINES = [
    "MOSCOW (Reuters) - ",
    "WASHINGTON (AP) — ",
    "BERLIN, Feb 17 (Reuters) - ",
    "PARIS (AFP) - ",
    "By Laila Bassam and Tala Ramadan\nDUBAI, Feb 17 (Reuters) - ",
    "NEW YORK, Feb. 17 (UPI) -- ",
    "CARACAS, Venezuela (AP) — ",
]
ADDED_SENTENCES = [
    "Officials did not immediately respond to requests for comment.",
    "This is a developing story and will be updated.",
    "The ministry declined to comment on the report.",
    "Reporting by Guy Faulconbridge; Editing by Andrew Osborn.",
    "It was not immediately clear how many people were affected.",
]


@dataclass(frozen=True, slots=True)
class Entry:
    feed: str
    title: str
    summary: str
    link: str | None


@dataclass(frozen=True, slots=True)
class Pair:
    kind: str
    same: bool
    a: tuple[str, str]
    b: tuple[str, str]


def load_entries(folder: Path) -> list[Entry]:
    now = datetime.now(UTC)
    entries: list[Entry] = []
    for path in sorted(folder.iterdir()):
        try:
            parsed = parse_feed(
                path.read_bytes(), url=f"https://feeds.example/{path.name}", now=now
            )
        except FeedError:
            continue
        entries.extend(
            Entry(path.name, item.title, item.summary, item.link) for item in parsed.items
        )
    return entries


# -- labelled pairs --------------------------------------------------------------------------

_WORD_STOPS = STOPWORDS


def content_words(text: str) -> set[str]:
    return {t.text for t in tokenize(text) if t.text not in _WORD_STOPS and len(t.text) > 2}


_ENTITY = re.compile(r"(?<![.!?]\s)(?<!^)\b[A-Z][a-zA-Z]{2,}")


def entities(entry: Entry) -> set[str]:
    """Capitalised words not at the start of the text: a cheap stand-in for named entities."""
    found: set[str] = set()
    for text in (entry.title, entry.summary[:300]):
        found.update(m.group().casefold() for m in _ENTITY.finditer(text))
    return found - _WORD_STOPS


def real_positives(entries: list[Entry]) -> list[Pair]:
    pairs: list[Pair] = []
    by_link: defaultdict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        if entry.link:
            by_link[entry.link].append(entry)
    for group in by_link.values():
        for a, b in itertools.combinations(group, 2):
            if a.feed != b.feed:
                pairs.append(
                    Pair("real/same-link", True, (a.title, a.summary), (b.title, b.summary))
                )
    by_text: defaultdict[tuple[str, str, str], list[Entry]] = defaultdict(list)
    for entry in entries:
        if entry.summary.strip():
            by_text[(entry.feed, normalize(entry.title), normalize(entry.summary))].append(entry)
    for group in by_text.values():
        for a, b in itertools.combinations(group, 2):
            if a.link != b.link:
                pairs.append(
                    Pair("real/republished", True, (a.title, a.summary), (b.title, b.summary))
                )
    for key_a, key_b in WIRE_COPIES:
        first, second = _labelled(entries, key_a), _labelled(entries, key_b)
        pairs.append(
            Pair("real/wire", True, (first.title, first.summary), (second.title, second.summary))
        )
    return pairs


def _labelled(entries: list[Entry], key: tuple[str, str]) -> Entry:
    feed, title_start = key
    found = [e for e in entries if e.feed == feed and e.title.startswith(title_start)]
    if len(found) != 1:
        raise SystemExit(f"labelled wire copy {key}: {len(found)} items, expected 1")
    return found[0]


def _sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[.!?…])\s+", text.strip()) if s]


def _truncate(rng: random.Random, summary: str) -> str:
    sentences = _sentences(summary)
    if len(sentences) > 1:
        for keep in range(len(sentences) - 1, 0, -1):
            cut = " ".join(sentences[:keep])
            if len(cut) >= 0.6 * len(summary):
                return cut
    words = summary.split()
    keep = max(1, int(len(words) * rng.uniform(0.6, 0.9)))
    return " ".join(words[:keep]) + rng.choice(["…", " ...", " [...]", ""])


def _typography(rng: random.Random, text: str) -> str:
    text = re.sub(r"'", rng.choice(["’", "&#39;", "&#x27;"]), text)
    text = re.sub(r'"([^"]*)"', r"“\1”", text)
    text = text.replace(" - ", " — ").replace("&", "&amp;")
    return f"<p>{text}</p>" if rng.random() < 0.5 else text


def _strip_accents(text: str) -> str:
    decomposed = unicodedata.normalize("NFD", text)
    return "".join(ch for ch in decomposed if not unicodedata.combining(ch))


Transform = Callable[[random.Random, str, str, list[str]], tuple[str, str]]


def _t_suffix(rng: random.Random, title: str, summary: str, _: list[str]) -> tuple[str, str]:
    return title + rng.choice(OUTLET_SUFFIXES), summary


def _t_prefix(rng: random.Random, title: str, summary: str, _: list[str]) -> tuple[str, str]:
    return rng.choice(TITLE_PREFIXES) + title, summary


def _t_dateline(rng: random.Random, title: str, summary: str, _: list[str]) -> tuple[str, str]:
    return title, rng.choice(DATELINES) + summary


def _t_truncate(rng: random.Random, title: str, summary: str, _: list[str]) -> tuple[str, str]:
    return title, _truncate(rng, summary)


def _t_add_sentence(
    rng: random.Random, title: str, summary: str, others: list[str]
) -> tuple[str, str]:
    # Half the time boilerplate, half the time a real sentence of another item (new content).
    pool = ADDED_SENTENCES if rng.random() < 0.5 else others
    extra = rng.choice(pool)
    return title, f"{summary} {extra}"


def _t_typography(rng: random.Random, title: str, summary: str, _: list[str]) -> tuple[str, str]:
    return _typography(rng, title), _typography(rng, summary)


def _t_case(rng: random.Random, title: str, summary: str, _: list[str]) -> tuple[str, str]:
    return (title.upper() if rng.random() < 0.5 else title.title()), summary


def _t_accents(rng: random.Random, title: str, summary: str, _: list[str]) -> tuple[str, str]:
    return _strip_accents(title), _strip_accents(summary)


TRANSFORMS: dict[str, Transform] = {
    "suffix": _t_suffix,
    "prefix": _t_prefix,
    "dateline": _t_dateline,
    "truncate": _t_truncate,
    "add-sentence": _t_add_sentence,
    "typography": _t_typography,
    "case": _t_case,
    "accents": _t_accents,
}


def news_like(entry: Entry) -> bool:
    """Items with a real title and a summary of a sentence or more: what copies are made of."""
    return len(content_words(entry.title)) >= 3 and len(entry.summary.split()) >= 12


def synthetic_positives(entries: list[Entry], rng: random.Random, per_kind: int) -> list[Pair]:
    sources = [e for e in entries if news_like(e)]
    others = [s for e in sources for s in _sentences(e.summary)[:1] if 6 <= len(s.split()) <= 40]
    pairs: list[Pair] = []
    for name, transform in TRANSFORMS.items():
        for entry in rng.sample(sources, per_kind):
            copy = transform(rng, entry.title, entry.summary, others)
            pairs.append(Pair(f"synthetic/{name}", True, (entry.title, entry.summary), copy))
    for entry in rng.sample(sources, per_kind):
        title, summary = entry.title, entry.summary
        for name in rng.sample(sorted(TRANSFORMS), rng.choice([2, 3])):
            title, summary = TRANSFORMS[name](rng, title, summary, others)
        pairs.append(
            Pair("synthetic/combined", True, (entry.title, entry.summary), (title, summary))
        )
    return pairs


# Words a desk adds when it rewrites a headline around the same facts.
HEADLINE_FORMS = [
    "{b}, {a}",
    "{b} as {a}",
    "{b} after {a}",
    "{a}: {b}",
    "{b} — {a}",
    "{b}; {a}, report says",
    "{b}, sources say, as {a}",
]
ATTRIBUTIONS = [
    " (via World Wire)",
    " (Reuters)",
    " — AP",
    " (with AFP)",
    " Source: Agence France-Presse.",
    " Read more at BBC News.",
    " (via Yahoo News)",
]


def _reword_title(rng: random.Random, title: str, summary: str) -> str:
    """The title's words around another turn of phrase: its two halves swapped and joined by a
    connective, a word or two dropped, one or two names or long words of the lede brought in
    ("Venezuelan officials say Russian-built air defences failed during US raid" -> "Russian-built
    air defences failed to stop Maduro raid, officials say": the demo pair's kind of rewrite)."""
    words = title.split()
    cut = rng.randint(max(1, len(words) // 3), max(1, 2 * len(words) // 3))
    first, second = words[:cut], words[cut:] or words[:1]
    for half in (first, second):
        if len(half) > 3 and rng.random() < 0.7:
            half.pop(rng.randrange(1, len(half)))
    known = {w.casefold() for w in words}
    lede = [
        w
        for w in re.sub(r"<[^>]*>", " ", summary).split()[:30]
        if w.isalpha() and w.casefold() not in known and (w[0].isupper() or len(w) > 5)
    ]
    for _ in range(rng.choice([1, 2])):
        if lede:
            second.insert(rng.randrange(1, len(second) + 1), rng.choice(lede))
    a, b = " ".join(first), " ".join(second)
    return rng.choice(HEADLINE_FORMS).format(a=a[:1].lower() + a[1:], b=b[:1].upper() + b[1:])


def _lede_title(rng: random.Random, summary: str) -> str:
    """The summary's first clause of six words or more as the headline, at most 14 words
    (aggregators and agencies that headline from the lede)."""
    words = re.sub(r"<[^>]*>", " ", summary).split()
    for end, word in enumerate(words[:14], start=1):
        if end >= 6 and word[-1] in ",;:.!?":
            return " ".join(words[:end]).rstrip(",;:.")
    return " ".join(words[: rng.randint(8, 14)]).rstrip(",;:.")


def _light_edit(rng: random.Random, summary: str) -> str:
    """Nothing, or one or two of: cut at a sentence boundary, an attribution appended, a clause
    shortened by dropping two or three words."""
    edits = rng.sample(["truncate", "attribution", "drop-words"], rng.choice([0, 1, 1, 2]))
    for edit in edits:
        if edit == "truncate":
            sentences = _sentences(summary)
            if len(sentences) > 1:
                summary = " ".join(sentences[: rng.randint(1, len(sentences) - 1)])
        elif edit == "attribution":
            summary = summary.rstrip() + rng.choice(ATTRIBUTIONS)
        else:
            words = summary.split()
            if len(words) > 12:
                start = rng.randrange(3, min(len(words), 40) - 3)
                del words[start : start + rng.randint(2, 3)]
                summary = " ".join(words)
    return summary


def retitled_positives(entries: list[Entry], rng: random.Random, per_kind: int) -> list[Pair]:
    """The same summary (lightly edited) under another headline: an agency's rewrite, a
    syndicated copy. ``retitled-reword``: the title's words rephrased; ``retitled-lede``: the
    first clause of the summary as the title."""
    sources = [e for e in entries if news_like(e)]
    pairs: list[Pair] = []
    for entry in rng.sample(sources, per_kind):
        title = _reword_title(rng, entry.title, entry.summary)
        copy = (title, _light_edit(rng, entry.summary))
        pairs.append(Pair("synthetic/retitled-reword", True, (entry.title, entry.summary), copy))
    for entry in rng.sample(sources, per_kind):
        title = _lede_title(rng, entry.summary)
        if normalize(title) == normalize(entry.title):
            title = _reword_title(rng, entry.title, entry.summary)
        copy = (title, _light_edit(rng, entry.summary))
        pairs.append(Pair("synthetic/retitled-lede", True, (entry.title, entry.summary), copy))
    return pairs


def negatives(
    entries: list[Entry], positives: Iterable[Pair], rng: random.Random, per_feed: int
) -> list[Pair]:
    same = {frozenset((p.a, p.b)) for p in positives}
    seen: set[frozenset[tuple[str, str]]] = set()
    pairs: list[Pair] = []

    def add(kind: str, a: Entry, b: Entry) -> None:
        ka, kb = (a.title, a.summary), (b.title, b.summary)
        key = frozenset((ka, kb))
        if len(key) < 2 or key in same or key in seen:
            return
        if normalize(a.title) == normalize(b.title):
            return  # same title, different text: ambiguous, left out
        if a.link is not None and a.link == b.link:
            return
        seen.add(key)
        pairs.append(Pair(kind, False, ka, kb))

    # Titles sharing >= 2 content words (inverted index on title words).
    words = [content_words(e.title) for e in entries]
    postings: defaultdict[str, list[int]] = defaultdict(list)
    for i, ws in enumerate(words):
        for w in ws:
            postings[w].append(i)
    for i, ws in enumerate(words):
        shared: Counter[int] = Counter()
        for w in ws:
            shared.update(j for j in postings[w] if j > i)
        for j, n in sorted(shared.items()):
            if n >= 2:
                add("negative/title-words", entries[i], entries[j])

    # Two different feeds naming >= 2 of the same (rare) named entities.
    ents = [entities(e) for e in entries]
    frequency = Counter(w for es in ents for w in es)
    by_entity: defaultdict[str, list[int]] = defaultdict(list)
    for i, es in enumerate(ents):
        for w in es:
            if frequency[w] <= 50:
                by_entity[w].append(i)
    candidates: list[tuple[int, int]] = []
    for i, es in enumerate(ents):
        shared = Counter()
        for w in es:
            if frequency[w] <= 50:
                shared.update(j for j in by_entity[w] if j > i)
        candidates.extend(
            (i, j)
            for j, n in sorted(shared.items())
            if n >= 2 and entries[i].feed != entries[j].feed
        )
    for i, j in candidates:
        add("negative/entities", entries[i], entries[j])

    # Pairs from one feed.
    by_feed: defaultdict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        by_feed[entry.feed].append(entry)
    for feed in sorted(by_feed):
        group = by_feed[feed]
        all_pairs = list(itertools.combinations(range(len(group)), 2))
        for i, j in rng.sample(all_pairs, min(per_feed, len(all_pairs))):
            add("negative/same-feed", group[i], group[j])
    return pairs


def boilerplate_negatives(
    entries: list[Entry], labelled: Iterable[Pair], rng: random.Random, per_feed: int
) -> list[Pair]:
    """Different items whose summaries look alike: where a summary-only rule would merge.

    ``negative/same-opening``: two items of one feed whose summaries open with the same three
    content words (podcast and status templates, "This is a guest post by", "Thanks to PCBWay
    for"), up to ``per_feed`` pairs a feed; ``negative/similar-summary``: any two items whose
    summaries share >= 30 % of their content words (Jaccard), found through their rarer words.
    Pairs already in ``labelled`` (either side) are not added again.
    """
    same = {frozenset((p.a, p.b)) for p in labelled}
    seen: set[frozenset[tuple[str, str]]] = set()
    pairs: list[Pair] = []

    def add(kind: str, a: Entry, b: Entry) -> None:
        ka, kb = (a.title, a.summary), (b.title, b.summary)
        key = frozenset((ka, kb))
        if len(key) < 2 or key in same or key in seen:
            return
        if normalize(a.title) == normalize(b.title):
            return  # same title, different text: ambiguous, left out (as in negatives())
        if a.link is not None and a.link == b.link:
            return
        if normalize(a.summary) == normalize(b.summary):
            return  # one text under two titles: a re-publication as likely as another story
        seen.add(key)
        pairs.append(Pair(kind, False, ka, kb))

    def opening(text: str) -> tuple[str, ...]:
        return tuple(t.text for t in tokenize(text[:300]) if t.text not in _WORD_STOPS)[:3]

    by_opening: defaultdict[tuple[str, tuple[str, ...]], list[Entry]] = defaultdict(list)
    for entry in entries:
        start = opening(entry.summary)
        if len(start) == 3:
            by_opening[(entry.feed, start)].append(entry)
    by_feed: defaultdict[str, list[tuple[Entry, Entry]]] = defaultdict(list)
    for (feed, _), group in sorted(by_opening.items()):
        by_feed[feed].extend(itertools.combinations(group, 2))
    for feed in sorted(by_feed):
        for a, b in rng.sample(by_feed[feed], min(per_feed, len(by_feed[feed]))):
            add("negative/same-opening", a, b)

    words = [content_words(e.summary[:1000]) for e in entries]
    frequency = Counter(w for ws in words for w in ws)
    postings: defaultdict[str, list[int]] = defaultdict(list)
    for i, ws in enumerate(words):
        for w in ws:
            if frequency[w] <= 50:
                postings[w].append(i)
    for i, ws in enumerate(words):
        if len(ws) < 5:
            continue
        shared: Counter[int] = Counter()
        for w in ws:
            if frequency[w] <= 50:
                shared.update(j for j in postings[w] if j > i)
        for j, n in sorted(shared.items()):
            if n >= 2 and len(words[j]) >= 5 and len(ws & words[j]) >= 0.3 * len(ws | words[j]):
                add("negative/similar-summary", entries[i], entries[j])
    return pairs


# -- scoring ---------------------------------------------------------------------------------


def scores(pairs: list[Pair]) -> list[tuple[Pair, int]]:
    cache: dict[tuple[str, str], int] = {}

    def fp(text: tuple[str, str]) -> int:
        if text not in cache:
            cache[text] = stories.fingerprint(*text)
        return cache[text]

    return [(p, stories.distance(fp(p.a), fp(p.b))) for p in pairs]


def table(scored: list[tuple[Pair, int]], max_distance: int) -> None:
    positives = sum(p.same for p, _ in scored)
    negatives_ = len(scored) - positives
    print(f"pairs: {positives} positive, {negatives_} negative")
    print(" d     TP     FP     FN  precision  recall     F1   F0.5        FPR")
    for d in range(max_distance + 1):
        tp = sum(1 for p, dist in scored if p.same and dist <= d)
        fp_ = sum(1 for p, dist in scored if not p.same and dist <= d)
        fn = positives - tp
        precision = tp / (tp + fp_) if tp + fp_ else 1.0
        recall = tp / positives if positives else 0.0
        f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
        f05 = 1.25 * precision * recall / (0.25 * precision + recall) if recall else 0.0
        mark = "  <- SAME_STORY_MAX_DISTANCE" if d == stories.SAME_STORY_MAX_DISTANCE else ""
        print(
            f"{d:2d} {tp:6d} {fp_:6d} {fn:6d}     {precision:.4f}  {recall:.4f} {f1:.4f} "
            f"{f05:.4f}  {fp_ / negatives_:.2e}{mark}"
        )


def by_kind(scored: list[tuple[Pair, int]], threshold: int) -> None:
    kinds: defaultdict[str, list[int]] = defaultdict(list)
    for pair, dist in scored:
        kinds[pair.kind].append(dist)
    print(f"\nper kind at distance <= {threshold}:")
    for kind in sorted(kinds):
        dists = kinds[kind]
        hit = sum(d <= threshold for d in dists)
        label = "recall" if kind.startswith(("real", "synthetic")) else "FPR   "
        dists.sort()
        median = dists[len(dists) // 2]
        print(f"  {kind:24s} n={len(dists):6d}  {label} {hit / len(dists):.4f}  median d={median}")


def show_errors(scored: list[tuple[Pair, int]], threshold: int, limit: int) -> None:
    wrong = [(p, d) for p, d in scored if p.same != (d <= threshold)]
    wrong.sort(key=lambda pd: pd[1] if pd[0].same else -pd[1], reverse=True)
    print(f"\nerrors at distance <= {threshold} ({len(wrong)}; showing {limit}):")
    for pair, dist in wrong[:limit]:
        print(f"  {pair.kind} d={dist}")
        for title, summary in (pair.a, pair.b):
            print(f"     {title[:90]!r} / {summary[:110]!r}")


def same_title_other_text(entries: list[Entry], threshold: int) -> None:
    """Left out of both sides; shows what an exact-title rule would merge on top of ours."""
    groups: defaultdict[str, list[Entry]] = defaultdict(list)
    for entry in entries:
        if normalize(entry.title):
            groups[normalize(entry.title)].append(entry)
    dists = [
        stories.distance(
            stories.fingerprint(a.title, a.summary), stories.fingerprint(b.title, b.summary)
        )
        for group in groups.values()
        for a, b in itertools.combinations(group, 2)
        if normalize(a.summary) != normalize(b.summary)
    ]
    merged = sum(d <= threshold for d in dists)
    print(
        f"\nsame title, different text (unlabelled): {len(dists)} pairs, "
        f"{merged} within distance {threshold} (an exact-title rule would merge all)"
    )


# -- the combined rule: title + summary, or summary alone -------------------------------------

NEW_KINDS = (
    "synthetic/retitled-reword",
    "synthetic/retitled-lede",
    "negative/same-opening",
    "negative/similar-summary",
)
BODY_WORDS_GRID = [5, 8, 10, 12, 15, 18, 20, 25, 30, 40]


@dataclass(frozen=True, slots=True)
class Scored:
    pair: Pair
    d: int  # distance of the title + summary fingerprints
    body: int  # distance of the summaries' own SimHashes
    body_words: int  # content words of the shorter summary (as body_fingerprint counts them)


def body_scores(scored: list[tuple[Pair, int]]) -> list[Scored]:
    """Adds the body distance and length; the private signature keeps the hash of a summary
    under MIN_BODY_WORDS too, so that one pass sweeps every W."""
    cache: dict[str, tuple[int, int]] = {}

    def body(summary: str) -> tuple[int, int]:
        if summary not in cache:
            cache[summary] = stories._body_signature(summary)
        return cache[summary]

    out = []
    for pair, d in scored:
        (ha, na), (hb, nb) = body(pair.a[1]), body(pair.b[1])
        out.append(Scored(pair, d, stories.distance(ha, hb), min(na, nb)))
    return out


def merged(s: Scored, body_words: int | None, body_distance: int) -> bool:
    """The combined rule; ``body_words=None`` is today's rule (title + summary alone)."""
    if s.d <= stories.SAME_STORY_MAX_DISTANCE:
        return True
    return body_words is not None and s.body_words >= body_words and s.body <= body_distance


Counts = tuple[int, int, int, int]  # TP, FP, FN, negatives


def counts(scored: list[Scored], body_words: int | None, body_distance: int) -> Counts:
    tp = fp_ = positives = 0
    for s in scored:
        hit = merged(s, body_words, body_distance)
        positives += s.pair.same
        tp += hit and s.pair.same
        fp_ += hit and not s.pair.same
    return tp, fp_, positives - tp, len(scored) - positives


def figures(c: Counts) -> tuple[float, float, float, float, float]:
    tp, fp_, fn, negatives_ = c
    precision = tp / (tp + fp_) if tp + fp_ else 1.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    f1 = 2 * precision * recall / (precision + recall) if precision + recall else 0.0
    f05 = 1.25 * precision * recall / (0.25 * precision + recall) if recall else 0.0
    return precision, recall, f1, f05, fp_ / negatives_ if negatives_ else 0.0


def row(label: str, c: Counts, mark: str = "") -> str:
    precision, recall, f1, f05, fpr = figures(c)
    return (
        f"{label:>14s} {c[0]:6d} {c[1]:6d} {c[2]:6d}     {precision:.4f}  {recall:.4f} "
        f"{f1:.4f} {f05:.4f}  {fpr:.2e}{mark}"
    )


HEADER = "                   TP     FP     FN  precision  recall     F1   F0.5        FPR"


def combined_tables(scored: list[Scored], max_body: int) -> None:
    chosen = (stories.MIN_BODY_WORDS, stories.BODY_MAX_DISTANCE)
    d = stories.SAME_STORY_MAX_DISTANCE
    print(
        f"\ncombined rule: title+summary d <= {d}, or both summaries >= W content words "
        f"and body d <= B\nF0.5 by W (rows) and B (columns); today (no body rule): "
        f"{figures(counts(scored, None, 0))[3]:.4f}"
    )
    print("   W  " + "".join(f"{b:7d}" for b in range(max_body + 1)))
    best: tuple[float, int, int] = (0.0, 0, 0)
    for w in BODY_WORDS_GRID:
        cells = []
        for b in range(max_body + 1):
            f05 = figures(counts(scored, w, b))[3]
            best = max(best, (f05, -w, -b))
            cells.append(f"{f05:7.4f}")
        print(f"  {w:2d}  " + "".join(cells))
    print(f"best F0.5 {best[0]:.4f} at W={-best[1]}, B={-best[2]}; module: W={chosen[0]}")
    print(f"\nat W = MIN_BODY_WORDS = {chosen[0]}, by B:")
    print(HEADER)
    print(row("today", counts(scored, None, 0)))
    for b in range(max_body + 1):
        mark = "  <- BODY_MAX_DISTANCE" if b == chosen[1] else ""
        print(row(f"B={b}", counts(scored, chosen[0], b), mark))
    print(f"\nat B = BODY_MAX_DISTANCE = {chosen[1]}, by W:")
    print(HEADER)
    for w in BODY_WORDS_GRID:
        mark = "  <- MIN_BODY_WORDS" if w == chosen[0] else ""
        print(row(f"W={w}", counts(scored, w, chosen[1]), mark))


def side_by_side(scored: list[Scored]) -> None:
    w, b = stories.MIN_BODY_WORDS, stories.BODY_MAX_DISTANCE
    original = [s for s in scored if s.pair.kind not in NEW_KINDS]
    print(f"\ntoday vs combined (W={w}, B={b}):")
    print(HEADER)
    for label, subset in (("all pairs", scored), ("original pairs", original)):
        print(
            f"  {label}: {sum(s.pair.same for s in subset)} positive, "
            f"{sum(not s.pair.same for s in subset)} negative"
        )
        print(row("today", counts(subset, None, 0)))
        print(row("combined", counts(subset, w, b)))


def by_kind_combined(scored: list[Scored]) -> None:
    w, b = stories.MIN_BODY_WORDS, stories.BODY_MAX_DISTANCE
    kinds: defaultdict[str, list[Scored]] = defaultdict(list)
    for s in scored:
        kinds[s.pair.kind].append(s)
    print(f"\nper kind, today -> combined (W={w}, B={b}):")
    for kind in sorted(kinds):
        group = kinds[kind]
        today = sum(merged(s, None, 0) for s in group)
        combined = sum(merged(s, w, b) for s in group)
        eligible = sum(s.body_words >= w for s in group)
        bodies = sorted(s.body for s in group if s.body_words >= w)
        median = bodies[len(bodies) // 2] if bodies else -1
        label = "recall" if kind.startswith(("real", "synthetic")) else "FPR   "
        print(
            f"  {kind:26s} n={len(group):6d}  {label} {today / len(group):.4f} -> "
            f"{combined / len(group):.4f}  with body {eligible / len(group):5.1%}  "
            f"median body d={median}"
        )


def show_body_errors(scored: list[Scored], limit: int) -> None:
    w, b = stories.MIN_BODY_WORDS, stories.BODY_MAX_DISTANCE
    wrong = [s for s in scored if not s.pair.same and merged(s, w, b) and not merged(s, None, 0)]
    missed = [s for s in scored if s.pair.same and not merged(s, w, b)]
    wrong.sort(key=lambda s: s.body)
    missed.sort(key=lambda s: s.body)
    for label, found in (("wrong merges by the body rule", wrong), ("copies missed", missed)):
        print(f"\n{label} ({len(found)}; showing {min(limit, len(found))}):")
        for s in found[:limit]:
            print(f"  {s.pair.kind} d={s.d} body d={s.body} words={s.body_words}")
            for title, summary in (s.pair.a, s.pair.b):
                print(f"     {title[:90]!r} / {summary[:110]!r}")


def speed(entries: list[Entry]) -> None:
    texts = [(e.title, e.summary) for e in entries]
    stories.fingerprint("warm up", "the hash cache")
    start = time.perf_counter()
    for title, summary in texts:
        stories.fingerprint(title, summary)
    elapsed = time.perf_counter() - start
    print(
        f"\nspeed: {len(texts)} real items fingerprinted in {elapsed:.2f} s "
        f"({len(texts) / elapsed:,.0f} items/s)"
    )
    start = time.perf_counter()
    for _, summary in texts:
        stories.body_fingerprint(summary)
    elapsed = time.perf_counter() - start
    print(
        f"       body fingerprints of the same items in {elapsed:.2f} s "
        f"({len(texts) / elapsed:,.0f} items/s)"
    )


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=Path, default=DEFAULT_FEEDS)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--per-kind", type=int, default=300, help="synthetic copies per change")
    parser.add_argument("--per-feed", type=int, default=30, help="same-feed negative pairs")
    parser.add_argument("--max-distance", type=int, default=20)
    parser.add_argument("--max-body-distance", type=int, default=12)
    parser.add_argument("--show-errors", type=int, default=0)
    args = parser.parse_args(argv)

    entries = load_entries(args.feeds)
    rng = random.Random(args.seed)
    positives = real_positives(entries) + synthetic_positives(entries, rng, args.per_kind)
    pairs = positives + negatives(entries, positives, rng, args.per_feed)
    # The new kinds draw from their own generator, so the pairs above stay as they were.
    extra_rng = random.Random(f"retitled/{args.seed}")
    retitled = retitled_positives(entries, extra_rng, args.per_kind)
    pairs += retitled
    pairs += boilerplate_negatives(entries, pairs, extra_rng, args.per_feed)
    print(f"{len(entries)} items from {len({e.feed for e in entries})} feeds")
    scored = scores(pairs)
    original = [(p, d) for p, d in scored if p.kind not in NEW_KINDS]
    print("\ntitle + summary fingerprint alone (today's rule), original pairs, by distance:")
    table(original, args.max_distance)
    by_kind(original, stories.SAME_STORY_MAX_DISTANCE)
    same_title_other_text(entries, stories.SAME_STORY_MAX_DISTANCE)
    if args.show_errors:
        show_errors(original, stories.SAME_STORY_MAX_DISTANCE, args.show_errors)
    combined = body_scores(scored)
    combined_tables(combined, args.max_body_distance)
    side_by_side(combined)
    by_kind_combined(combined)
    if args.show_errors:
        show_body_errors(combined, args.show_errors)
    speed(entries)


if __name__ == "__main__":
    main()
