"""Story grouping quality: precision / recall of ``same_story`` over labelled pairs of real items.

    python bench/stories.py [--feeds ../shared/feeds/real-2026] [--seed 1] [--per-kind 300]
                            [--per-feed 30] [--max-distance 20] [--show-errors N]

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
  accents dropped) and ``synthetic/combined`` with two or three of them at once.

Negatives (different stories that look alike, the case that hides an alert):

- ``negative/same-feed``: pairs of items of one feed (same outlet, same beat, same boilerplate);
- ``negative/title-words``: any two items whose titles share >= 2 content words ("Ardour 8.11
  released" / "Ardour 8.12 released", two outlets' own reports on Jesse Jackson's death);
- ``negative/entities``: two items of different feeds naming >= 2 of the same named entities
  (capitalised words: "Iran", "Geneva", "Rubio", "Orban").

Pairs with identical normalised titles but different text (a blog's "Roblox" status changes, a
talk given twice) are left out of both sides: same title, different text is ambiguous. Figures:
per distance 0..N, TP / FP / FN, precision, recall, F1, F0.5 and the false-positive rate over the
negatives (the balance-free figure: each comparison with an unrelated story of the same claim
risks a wrong merge with about that probability); then recall per positive kind and FPR per
negative kind at the module's ``SAME_STORY_MAX_DISTANCE``, and fingerprint speed.
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


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--feeds", type=Path, default=DEFAULT_FEEDS)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--per-kind", type=int, default=300, help="synthetic copies per change")
    parser.add_argument("--per-feed", type=int, default=30, help="same-feed negative pairs")
    parser.add_argument("--max-distance", type=int, default=20)
    parser.add_argument("--show-errors", type=int, default=0)
    args = parser.parse_args(argv)

    entries = load_entries(args.feeds)
    rng = random.Random(args.seed)
    positives = real_positives(entries) + synthetic_positives(entries, rng, args.per_kind)
    pairs = positives + negatives(entries, positives, rng, args.per_feed)
    print(f"{len(entries)} items from {len({e.feed for e in entries})} feeds")
    scored = scores(pairs)
    table(scored, args.max_distance)
    by_kind(scored, stories.SAME_STORY_MAX_DISTANCE)
    same_title_other_text(entries, stories.SAME_STORY_MAX_DISTANCE)
    if args.show_errors:
        show_errors(scored, stories.SAME_STORY_MAX_DISTANCE, args.show_errors)
    speed(entries)


if __name__ == "__main__":
    main()
