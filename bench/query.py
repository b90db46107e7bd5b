"""Query latency at a million stored items: what `claimbot matches`, `feeds status`, `stats` and
`stories` run, timed on a full database.

    python bench/query.py [--items 1000000] [--feeds 2000] [--claims 11] [--match-rate 0.08]
                          [--days 365] [--seed 1] [--repeat 30] [--warmup 2]
                          [--db /tmp/claimbot-bench-query.db | --database-url URL [--wipe]]
                          [--vocab DIR | --vocab none] [--only WORD...] [--explain slow|all|none]
                          [--analyze]

For PostgreSQL, a database of its own keeps it clear of the test suite's (which drops its tables):
``createdb -h 127.0.0.1 -U postgres claimbot_bench``, then ``--database-url
postgresql+psycopg://postgres@127.0.0.1:5432/claimbot_bench``.

Filling. ``Store(url)`` creates claimbot's real schema first (tables, later indexes, and the
full-text index of matched items: an FTS5 table kept by triggers on SQLite, a tsvector column
with a GIN index on PostgreSQL); the history is then bulk-inserted with raw SQL
(``executemany`` in large transactions on SQLite with ``synchronous=OFF`` and no journal during
the fill only; ``COPY`` on PostgreSQL, with the indexing trigger off during the load and the
matched items indexed by ``Store(url)`` afterwards, then ``VACUUM ANALYZE`` as autovacuum would
do). On SQLite the triggers stay in place, so the index is built row by row as the store builds
it. The shape, all seeded (same flags, same data):

- ``--feeds`` feeds with Zipf-like activity (the busiest hundreds of times the quietest);
  3 % go silent part-way, 3 % are failing now; 80 % English, 12 % Spanish, 8 % Russian;
- ``--items`` items over the last ``--days`` days, in polls of 1-5 items sharing one
  ``first_seen_at``, increasing with id; titles and summaries drawn from a Zipf vocabulary (word
  frequencies of the real feeds in ``--vocab``, plus built-in English, Spanish and Russian news
  words) with topic words (Russia, Kremlin, Venezuela, S-300, "air defence", Havana...) in
  matched items and in 15 % of the others; 10 % carry a longer ``content``;
- ``--match-rate`` of items match a claim (the first ``--claims`` ids of config/claims.yaml,
  skewed: some claims match far more than others), 15 % of those a second claim; 20 % of
  matches are suggestions (score 0.25-0.5, no story, no alert row), the rest alert (0.5-1.0);
- about 30 % of alerting matches are copies in stories of 2-5 (other feeds, within 72 h, the
  copy's title a variant of the first's); an ``alert`` row for each story's first copy (92 %
  sent, 4 % muted, 2 % failed, pending in the last hour), a ``reply`` and an ``update`` row
  for each later copy of a sent or pending alert, none for muted or failed ones (as the store
  does); feedback (relevant / false_positive, 10 % of them changed later) on ~2 % of alerts.

The filled SQLite file is kept (``--db``) and reused while the flags match (a ``bench_query``
row in ``claimbot_meta`` records them); a different shape refills it. ``--database-url`` fills
PostgreSQL instead: it DROPS claimbot's tables in that database and recreates them (it refuses
a database holding claimbot tables it did not fill, unless ``--wipe``). The times are taken
relative to the end of the filled history, so a cached database answers the same questions.

Measuring. A fresh ``Store(url)`` (the store's normal settings: WAL, no ANALYZE on SQLite unless
``--analyze``) runs each shape through the real code path (``Store.find_matches`` with a
``MatchQuery``, ``feed_health``, ``claim_stats``, ``matches_per_day``, ``stories``),
``--warmup`` times, then ``--repeat`` times, varying what it asks between repetitions (claim,
feed, word, window) so the figure is not one cached answer. Searches: topic words common in
items and matches ("russia"), very common words ("the", "de": the worst case), rare words
(words of sampled titles found in at most 0.02 % of items), phrases, prefixes. Figures: p50 /
p95 / max milliseconds per call, rows returned (min-max over the repetitions), and the goal
(p95 under 100 ms) with SLOW where it is missed; deep paging is timed per page over walks of 50
pages.
For each slow shape (``--explain all``: every shape) the SQL it ran is printed, each statement
run again alone with its time, and its plan (SQLite ``EXPLAIN QUERY PLAN``, PostgreSQL ``EXPLAIN
(ANALYZE, BUFFERS)``), with the whole call's time beside the SQL's (the rest is Python: ORM rows,
records). Wall-clock on this machine, load average printed: compare runs, not absolutes.
"""

from __future__ import annotations

import argparse
import html
import json
import math
import os
import random
import re
import sqlite3
import sys
import time
from array import array
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import feedparser  # noqa: E402
from sqlalchemy import Engine, event, func, inspect, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402

from bot.config import load_claims  # noqa: E402
from bot.store import Store  # noqa: E402
from bot.store.history import MatchQuery  # noqa: E402
from bot.store.schema import drop_schema  # noqa: E402
from bot.store.search import matched_item_hits, parse_search  # noqa: E402
from bot.store.store import create_db_engine  # noqa: E402

DEFAULT_DB = Path("/tmp/claimbot-bench-query.db")
DEFAULT_VOCAB = REPO.parent / "shared" / "feeds" / "real-2026"
CLAIMS_FILE = REPO / "config" / "claims.yaml"
GOAL_MS = 100.0
PAGES = 50
META_KEY = "bench_query"
DATA_VERSION = 1  # bump when the generated data changes, so cached databases are refilled
ITEM_CHUNK = 20_000

# -- vocabulary ---------------------------------------------------------------

NEWS_EN = (
    "the of to in and a for on that is with said was as by at from has it be are have his "
    "after he will its an not who but new were had their been more over this about they year "
    "president government minister people officials two would against first told also which "
    "could week one military country forces security state last since when than police report "
    "foreign war talks leader political group world national under former three while news "
    "city during court deal support attack members visit defence minister's agency economic "
    "spokesman sources statement claims crisis sanctions oil energy power public according "
    "talks election opposition region border troops officials' capital army navy strikes "
    "missiles weapons diplomats embassy ties relations cooperation agreement treaty summit "
    "analysts experts intelligence services leaders allies partners commitment aid assistance "
    "pressure warning threat response official denied confirmed announced reported amid "
    "despite following ahead between without within across whether because however further "
    "Monday Tuesday Wednesday Thursday Friday Saturday Sunday January February March April "
    "Reuters AP AFP sources spokeswoman ministry parliament senate congress vote protest "
    "economy inflation prices market exports imports fuel gas shipments tanker port airport "
    "flights satellite images footage video interview analysis opinion editorial"
).split()
NEWS_ES = (
    "de la que el en y a los se del las un por con no una su para es al lo como más pero sus "
    "le ya o fue este ha sí porque esta son entre cuando muy sin sobre ser también me hasta "
    "hay donde han quien están estado desde todo nos durante estados todos uno les ni contra "
    "otros fueron ese eso había ante ellos esto antes algunos qué unos otro otras otra tanto "
    "esa estos mucho quienes nada muchos cual sea poco estar haber estas estaba algunas algo "
    "gobierno presidente país según año años días política ministro dijo informó nacional "
    "internacional fuerzas economía crisis acuerdo ciudad semana oficial autoridades "
    "seguridad régimen oposición sanciones petróleo embajada relaciones cooperación apoyo "
    "declaraciones portavoz analistas expertos ataque ataques frontera tropas misiles armas "
    "canciller cancillería elecciones protestas inflación precios mercado"
).split()
NEWS_RU = (
    "и в не на что с по как это а из к о за от для его но же у так все он она было был до при "
    "уже также года году после может только или более президент правительство страны "
    "заявил министр сообщил власти время человек глава сегодня новости военные эксперты "
    "отношения решение ситуация вопрос мнению против между сотрудничество поддержка "
    "санкции нефть посольство переговоры заявление представитель аналитики удар удары "
    "граница войска ракеты оружие выборы протесты экономика кризис соглашение неделе "
    "официальный источники агентство совет безопасности"
).split()
# Topic words by claim tag and language; multi-word entries go in as a unit (a phrase).
TOPICS: dict[str, dict[str, tuple[str, ...]]] = {
    "russia": {"en": ("Russia", "Russian", "Moscow"), "es": ("Rusia", "ruso", "Moscú"),
               "ru": ("Россия", "российский", "Москва")},
    "kremlin": {"en": ("Kremlin", "Putin"), "es": ("Kremlin", "Putin"),
                "ru": ("Кремль", "Путин")},
    "venezuela": {"en": ("Venezuela", "Venezuelan", "Caracas", "Maduro"),
                  "es": ("Venezuela", "venezolano", "Caracas", "Maduro"),
                  "ru": ("Венесуэла", "Каракас", "Мадуро")},
    "cuba": {"en": ("Cuba", "Cuban", "Havana"), "es": ("Cuba", "cubano", "La Habana"),
             "ru": ("Куба", "кубинский", "Гавана")},
    "iran": {"en": ("Iran", "Iranian", "Tehran"), "es": ("Irán", "iraní", "Teherán"),
             "ru": ("Иран", "Тегеран")},
    "ukraine": {"en": ("Ukraine", "Ukrainian", "Kyiv"), "es": ("Ucrania", "ucraniano", "Kiev"),
                "ru": ("Украина", "Киев")},
    "air-defence": {"en": ("air defence", "air defences", "S-300", "S-400", "radar"),
                    "es": ("defensa aérea", "S-300", "antiaérea"),
                    "ru": ("ПВО", "С-300", "противовоздушной обороны")},
    "military": {"en": ("military", "troops", "army"), "es": ("militar", "ejército"),
                 "ru": ("армия", "военные")},
    "security": {"en": ("security", "guards"), "es": ("seguridad",),
                 "ru": ("безопасность",)},
    "intelligence": {"en": ("intelligence", "spies", "CIA"), "es": ("inteligencia", "espías"),
                     "ru": ("разведка", "ЦРУ")},
    "maduro": {"en": ("Maduro", "capture", "raid"), "es": ("Maduro", "captura"),
               "ru": ("Мадуро",)},
    "cyber": {"en": ("cyberattack", "blackout", "hackers"), "es": ("ciberataque", "apagón"),
              "ru": ("кибератака", "блэкаут")},
    "infrastructure": {"en": ("power grid", "electricity"), "es": ("red eléctrica",),
                       "ru": ("электросеть",)},
    "united-states": {"en": ("United States", "Washington", "Trump"),
                      "es": ("Estados Unidos", "Washington", "Trump"),
                      "ru": ("США", "Вашингтон", "Трамп")},
    "diplomacy": {"en": ("diplomats", "embassy", "sanctions"),
                  "es": ("diplomacia", "embajada"), "ru": ("дипломатия", "переговоры")},
    "alliances": {"en": ("allies", "alliance", "partner"), "es": ("aliados", "alianza"),
                  "ru": ("союзники",)},
    "syria": {"en": ("Syria", "Assad", "Damascus"), "es": ("Siria", "Asad"),
              "ru": ("Сирия", "Асад")},
    "casualties": {"en": ("killed", "casualties", "agents"), "es": ("muertos", "agentes"),
                   "ru": ("погибли", "агенты")},
    "middle-east": {"en": ("Middle East", "Israel", "Gulf"), "es": ("Oriente Medio", "Israel"),
                    "ru": ("Ближний Восток", "Израиль")},
    "peace-talks": {"en": ("peace talks", "ceasefire"), "es": ("conversaciones de paz",),
                    "ru": ("мирные переговоры", "перемирие")},
}
LANGUAGES = (("en", 80), ("es", 12), ("ru", 8))
_WORDS = re.compile(r"[^\W\d_][^\W_]*(?:['’-][^\W_]+)*")
_TAGS = re.compile(r"<[^>]*>")


@dataclass(frozen=True)
class Vocabulary:
    """Words with cumulative weights, most frequent first: ``draw`` samples by frequency."""

    words: tuple[str, ...]
    cum: tuple[float, ...]

    @classmethod
    def from_weights(cls, weights: Mapping[str, float]) -> Vocabulary:
        ranked = sorted(weights.items(), key=lambda kv: (-kv[1], kv[0]))
        cum: list[float] = []
        total = 0.0
        for _, weight in ranked:
            total += weight
            cum.append(total)
        return cls(tuple(w for w, _ in ranked), tuple(cum))

    def draw(self, rng: random.Random, k: int) -> list[str]:
        return rng.choices(self.words, cum_weights=self.cum, k=k)

    def share(self, index: int) -> float:
        """The probability of drawing ``words[index]``."""
        below = self.cum[index - 1] if index else 0.0
        return (self.cum[index] - below) / self.cum[-1]


def zipf(words: Sequence[str], exponent: float = 1.0) -> dict[str, float]:
    weights: dict[str, float] = {}
    for rank, word in enumerate(words):
        weights[word] = weights.get(word, 0.0) + 1.0 / (rank + 1) ** exponent
    return weights


def mix(parts: Sequence[tuple[Mapping[str, float], float]]) -> dict[str, float]:
    """Weights combined, each part scaled to its share of the whole."""
    mixed: dict[str, float] = {}
    for weights, share in parts:
        total = sum(weights.values())
        if total:
            for word, weight in weights.items():
                mixed[word] = mixed.get(word, 0.0) + share * weight / total
    return mixed


def feed_word_counts(folder: Path | None) -> Counter[str]:
    """Word frequencies of the titles and summaries in a folder of real feeds."""
    counts: Counter[str] = Counter()
    if folder is None or not folder.is_dir():
        return counts
    for path in sorted(folder.iterdir()):
        parsed = feedparser.parse(
            path.read_bytes(), sanitize_html=False, resolve_relative_uris=False
        )
        for entry in parsed.entries:
            summary = _TAGS.sub(" ", str(entry.get("summary", "")))[:800]
            words = _WORDS.findall(html.unescape(f"{entry.get('title', '')} {summary}"))
            counts.update(w for w in words if len(w) <= 24)
    return Counter({w: n for w, n in counts.items() if n >= 2})


def vocabularies(folder: Path | None) -> dict[str, Vocabulary]:
    real = feed_word_counts(folder)
    english = mix([(real, 0.75), (zipf(NEWS_EN), 0.25)]) if real else zipf(NEWS_EN)
    return {
        "en": Vocabulary.from_weights(english),
        "es": Vocabulary.from_weights(zipf(NEWS_ES)),
        "ru": Vocabulary.from_weights(zipf(NEWS_RU)),
    }


# -- the shape of the history -------------------------------------------------


@dataclass(frozen=True)
class Shape:
    """What to fill: recorded in the database so a cached one is reused only when it fits."""

    items: int
    feeds: int
    claims: tuple[str, ...]
    match_rate: float
    days: int
    seed: int
    vocab: str
    version: int = DATA_VERSION


@dataclass
class Story:
    id: int
    claim: str
    root_item: int
    created: float
    last_seen: float
    copies_left: int
    feeds: set[int]
    root_alert: int | None = None
    root_status: str | None = None


@dataclass(frozen=True)
class Match:
    id: int
    claim: str
    item: int
    score: float
    alert: bool
    created: float
    story: int | None


@dataclass(frozen=True)
class Alert:
    id: int
    kind: str
    match: int | None
    story: int
    parent: int | None
    claim: str
    status: str
    created: float


@dataclass(frozen=True)
class Verdict:
    id: int
    alert: int
    claim: str
    verdict: str
    created: float


@dataclass
class Plan:
    """Everything but the text: which feed each item came from and when, what matched."""

    start: float
    end: float
    feed_of: array[int] = field(default_factory=lambda: array("i"))
    seen_at: array[float] = field(default_factory=lambda: array("d"))
    feed_language: list[str] = field(default_factory=list)
    failing: set[int] = field(default_factory=set)
    matches: list[Match] = field(default_factory=list)
    stories: dict[int, Story] = field(default_factory=dict)
    alerts: list[Alert] = field(default_factory=list)
    feedback: list[Verdict] = field(default_factory=list)
    claims_of: dict[int, list[str]] = field(default_factory=dict)
    copy_of: dict[int, int] = field(default_factory=dict)


def plan_history(shape: Shape, end: float) -> Plan:
    """Feeds, item times, matches, stories, alerts and feedback, seeded."""
    rng = random.Random(shape.seed)
    plan = Plan(start=end - shape.days * 86400.0, end=end)
    plan.feed_language = rng.choices(
        [lang for lang, _ in LANGUAGES], weights=[w for _, w in LANGUAGES], k=shape.feeds + 1
    )
    order = list(range(1, shape.feeds + 1))
    rng.shuffle(order)  # feed ids do not follow activity
    activity = [0.0] * (shape.feeds + 1)
    for rank, feed in enumerate(order):
        activity[feed] = 1.0 / (rank + 5) ** 0.9
    cum = list(_cumulative(activity))
    stop_at = {f: rng.uniform(0.3, 0.97) for f in rng.sample(order, shape.feeds * 3 // 100)}
    plan.failing = set(rng.sample(order, shape.feeds * 3 // 100))
    claim_weights = [1.0 / (k + 1) ** 0.8 for k in range(len(shape.claims))]
    rng.shuffle(claim_weights)
    open_story: dict[str, Story] = {}
    feeds = range(shape.feeds + 1)
    item = 0
    while item < shape.items:
        fraction = item / shape.items
        feed = rng.choices(feeds, cum_weights=cum)[0]
        while stop_at.get(feed, 1.0) < fraction:
            feed = rng.choices(feeds, cum_weights=cum)[0]
        polled = round(plan.start + (end - plan.start) * fraction + rng.random(), 6)
        for _ in range(min(rng.choices((1, 2, 3, 4, 5), (45, 25, 15, 10, 5))[0],
                           shape.items - item)):
            item += 1
            plan.feed_of.append(feed)
            plan.seen_at.append(polled)
            if rng.random() < shape.match_rate:
                _plan_matches(plan, rng, shape, claim_weights, open_story, item, feed, polled)
    return plan


def _cumulative(weights: Iterable[float]) -> Iterator[float]:
    total = 0.0
    for weight in weights:
        total += weight
        yield total


def _plan_matches(
    plan: Plan, rng: random.Random, shape: Shape, claim_weights: Sequence[float],
    open_story: dict[str, Story], item: int, feed: int, now: float,
) -> None:
    claims = [rng.choices(shape.claims, weights=claim_weights)[0]]
    if rng.random() < 0.15 and len(shape.claims) > 1:
        second = rng.choices(shape.claims, weights=claim_weights)[0]
        while second == claims[0]:
            second = rng.choices(shape.claims, weights=claim_weights)[0]
        claims.append(second)
    plan.claims_of[item] = claims
    for claim in claims:
        match_id = len(plan.matches) + 1
        if rng.random() < 0.2:  # a suggestion: stored for review, no story, no alert
            score = 0.25 + 0.25 * rng.random()
            plan.matches.append(Match(match_id, claim, item, round(score, 4), False, now, None))
            continue
        score = 0.5 + 0.5 * rng.random() ** 1.5
        story = open_story.get(claim)
        if (story is not None and story.copies_left > 0 and now - story.created <= 72 * 3600
                and feed not in story.feeds):
            story.copies_left -= 1
            story.last_seen = now
            story.feeds.add(feed)
            plan.copy_of.setdefault(item, story.root_item)
            plan.matches.append(Match(match_id, claim, item, round(score, 4), True, now, story.id))
            _plan_copy_alerts(plan, story, match_id, now)
            continue
        story = Story(
            id=len(plan.stories) + 1, claim=claim, root_item=item, created=now, last_seen=now,
            copies_left=rng.randint(1, 4) if rng.random() < 0.11 else 0, feeds={feed},
        )
        plan.stories[story.id] = story
        open_story[claim] = story
        plan.matches.append(Match(match_id, claim, item, round(score, 4), True, now, story.id))
        _plan_root_alert(plan, rng, story, match_id, now)


def _plan_root_alert(
    plan: Plan, rng: random.Random, story: Story, match_id: int, now: float
) -> None:
    if now >= plan.end - 3600:
        status = "pending"
    else:
        status = rng.choices(
            ("sent", "muted", "failed", "pending"), (92, 4, 2, 0.5)
        )[0]
    alert_id = len(plan.alerts) + 1
    plan.alerts.append(Alert(alert_id, "alert", match_id, story.id, None, story.claim, status, now))
    story.root_alert, story.root_status = alert_id, status
    if status == "sent" and rng.random() < 0.02:
        first = rng.choices(("relevant", "false_positive"), (65, 35))[0]
        when = min(now + rng.uniform(600, 86400), plan.end)
        plan.feedback.append(Verdict(len(plan.feedback) + 1, alert_id, story.claim, first, when))
        if rng.random() < 0.1:
            other = "relevant" if first == "false_positive" else "false_positive"
            later = min(when + rng.uniform(600, 86400), plan.end)
            plan.feedback.append(
                Verdict(len(plan.feedback) + 1, alert_id, story.claim, other, later)
            )


def _plan_copy_alerts(plan: Plan, story: Story, match_id: int, now: float) -> None:
    """A reply in the alert's thread and an update of the alert, as the store queues them."""
    if story.root_alert is None or story.root_status not in ("sent", "pending"):
        return
    status = "pending" if story.root_status == "pending" else "sent"
    for kind, match in (("reply", match_id), ("update", None)):
        plan.alerts.append(
            Alert(len(plan.alerts) + 1, kind, match, story.id, story.root_alert, story.claim,
                  status, now)
        )


# -- text -----------------------------------------------------------------------


class TextMaker:
    """Titles and summaries: Zipf words with topic words in; copies vary the first copy."""

    def __init__(self, vocab: Mapping[str, Vocabulary], claim_tags: Mapping[str, Sequence[str]],
                 seed: int) -> None:
        self.rng = random.Random(seed)
        self.vocab = vocab
        self.claim_topics = {
            claim: {lang: [w for tag in tags for w in TOPICS.get(tag, {}).get(lang, (tag,))]
                    for lang in vocab}
            for claim, tags in claim_tags.items()
        }
        self.any_topic = {lang: [w for t in TOPICS.values() for w in t[lang]] for lang in vocab}

    def item(self, lang: str, claims: Sequence[str]) -> tuple[str, str, str]:
        rng, vocab = self.rng, self.vocab[lang]
        title = vocab.draw(rng, rng.randint(6, 13))
        sentences = [vocab.draw(rng, rng.randint(8, 22)) for _ in range(rng.randint(1, 3))]
        topics: list[str] = []
        for claim in claims:
            topics.extend(rng.sample(self.claim_topics[claim][lang],
                                     min(4, len(self.claim_topics[claim][lang]))))
        if not claims and rng.random() < 0.15:
            topics = rng.sample(self.any_topic[lang], rng.randint(1, 2))
        for n, topic in enumerate(topics):
            words = title if n % 2 == 0 else rng.choice(sentences)
            words.insert(rng.randrange(len(words) + 1), topic)
        content = ""
        if rng.random() < 0.1:
            content = " ".join(vocab.draw(rng, rng.randint(60, 250)))
        return _sentence(title, "")[:300], " ".join(_sentence(s, ".") for s in sentences), content

    def copy(self, title: str, summary: str, outlet: str) -> tuple[str, str]:
        """Another outlet's copy of a story: the title varied, the summary maybe cut."""
        rng = self.rng
        variant = rng.randrange(5)
        if variant == 1:
            title = f"{title} - {outlet}"
        elif variant == 2:
            title = f"{outlet}: {title}"
        elif variant == 3:
            words = title.split()
            if len(words) > 4:
                del words[rng.randrange(1, len(words))]
            title = " ".join(words)
        if rng.random() < 0.4 and ". " in summary:
            summary = summary.split(". ")[0] + "."
        return title, summary


def _sentence(words: list[str], end: str) -> str:
    if not words:
        return ""
    first = words[0]
    return " ".join([first[:1].upper() + first[1:], *words[1:]]) + end


# -- writing ----------------------------------------------------------------------

Row = tuple[Any, ...]


class Sink(Protocol):
    def time(self, ts: float | None) -> Any: ...

    def flag(self, value: bool) -> Any: ...

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None: ...


class SQLiteSink:
    """Raw sqlite3, no journal and no fsync during the fill; WAL again at the end."""

    def __init__(self, path: Path) -> None:
        self.connection = sqlite3.connect(path, isolation_level=None)
        for pragma in ("journal_mode=OFF", "synchronous=OFF", "cache_size=-1048576",
                       "temp_store=MEMORY", "locking_mode=EXCLUSIVE", "foreign_keys=OFF"):
            self.connection.execute(f"PRAGMA {pragma}")

    def time(self, ts: float | None) -> Any:
        if ts is None:
            return None
        # SQLAlchemy's SQLite DATETIME format, naive UTC (what UTCDateTime stores).
        return datetime.fromtimestamp(ts, UTC).strftime("%Y-%m-%d %H:%M:%S.%f")

    def flag(self, value: bool) -> Any:
        return int(value)

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        marks = ", ".join("?" * len(columns))
        self.connection.execute("BEGIN")
        self.connection.executemany(
            f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", rows
        )
        self.connection.execute("COMMIT")

    def close(self) -> None:
        self.connection.execute("PRAGMA locking_mode=NORMAL")
        self.connection.execute("PRAGMA journal_mode=WAL")
        self.connection.close()


class PostgresSink:
    """COPY through psycopg, one transaction."""

    def __init__(self, engine: Engine) -> None:
        self.raw = engine.raw_connection()
        self.connection: Any = self.raw.driver_connection

    def time(self, ts: float | None) -> Any:
        return None if ts is None else datetime.fromtimestamp(ts, UTC)

    def flag(self, value: bool) -> Any:
        return value

    def insert(self, table: str, columns: Sequence[str], rows: Sequence[Row]) -> None:
        with self.connection.cursor() as cursor:
            with cursor.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        self.connection.commit()

    def close(self) -> None:
        with self.connection.cursor() as cursor:
            for table in ("feeds", "items", "stories", "matches", "alerts", "feedback"):
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence('{table}', 'id'),"
                    f" (SELECT coalesce(max(id), 1) FROM {table}))"
                )
        self.connection.commit()
        self.raw.close()


FEED_COLUMNS = ("id", "url", "name", "title", "etag", "last_modified", "last_polled_at",
                "last_success_at", "next_poll_at", "last_status", "last_http_status",
                "consecutive_failures", "last_error", "items_seen")
ITEM_COLUMNS = ("id", "feed_id", "identity", "title", "summary", "content", "link", "published",
                "published_estimated", "author", "language", "first_seen_at")
STORY_COLUMNS = ("id", "claim_id", "fingerprint", "body_fingerprint", "title", "created_at",
                 "last_seen_at")
MATCH_COLUMNS = ("id", "claim_id", "item_id", "score", "alert", "evidence", "created_at",
                 "story_id", "feed_id")
ALERT_COLUMNS = ("id", "kind", "match_id", "story_id", "parent_id", "claim_id", "channel",
                 "status", "attempts", "in_flight", "attempted_at", "next_attempt_at",
                 "created_at", "sent_at", "text", "blocks", "plain", "slack_channel", "slack_ts",
                 "last_error")
FEEDBACK_COLUMNS = ("id", "alert_id", "claim_id", "verdict", "user_id", "user_name", "created_at")


def outlet(feed: int) -> str:
    return f"Outlet {feed}"


def feed_url(feed: int) -> str:
    return f"https://news{feed}.example.com/rss/world.xml"


def write_history(sink: Sink, plan: Plan, text: TextMaker, titles: Mapping[str, str]) -> None:
    """Every table, parents first: feeds, items (streamed), stories, matches, alerts, feedback."""
    rng = random.Random(len(plan.feed_of))
    sink.insert("feeds", FEED_COLUMNS, list(_feed_rows(sink, plan, rng)))
    kept: dict[int, tuple[str, str]] = {}  # matched items' title and summary
    chunk: list[Row] = []
    for row in _item_rows(sink, plan, text, rng, kept):
        chunk.append(row)
        if len(chunk) == ITEM_CHUNK:
            sink.insert("items", ITEM_COLUMNS, chunk)
            chunk = []
    if chunk:
        sink.insert("items", ITEM_COLUMNS, chunk)
    sink.insert("stories", STORY_COLUMNS, [
        (s.id, s.claim, rng.getrandbits(63) - 2**62,
         rng.getrandbits(63) - 2**62 if rng.random() < 0.7 else None,
         kept[s.root_item][0], sink.time(s.created), sink.time(s.last_seen))
        for s in plan.stories.values()
    ])
    sink.insert("matches", MATCH_COLUMNS, [
        (m.id, m.claim, m.item, m.score, sink.flag(m.alert), _evidence(m, kept[m.item]),
         sink.time(m.created), m.story, plan.feed_of[m.item - 1])
        for m in plan.matches
    ])
    sink.insert("alerts", ALERT_COLUMNS, [
        _alert_row(sink, a, plan, kept, titles) for a in plan.alerts
    ])
    sink.insert("feedback", FEEDBACK_COLUMNS, [
        (v.id, v.alert, v.claim, v.verdict, f"U0{v.id % 37:07d}", f"analyst{v.id % 37}",
         sink.time(v.created))
        for v in plan.feedback
    ])


def _feed_rows(sink: Sink, plan: Plan, rng: random.Random) -> Iterator[Row]:
    counts = Counter(plan.feed_of)
    for feed in range(1, len(plan.feed_language)):
        polled = plan.end - rng.uniform(0, 1800)
        failing = feed in plan.failing
        yield (
            feed, feed_url(feed), outlet(feed) if rng.random() < 0.4 else None,
            f"News {feed} - World", f'"{rng.getrandbits(40):010x}"' if rng.random() < 0.5 else None,
            "Mon, 05 Jan 2026 10:00:00 GMT" if rng.random() < 0.4 else None,
            sink.time(polled), sink.time(polled - rng.uniform(3600, 86400 * 5) if failing
                                          else polled),
            sink.time(polled + rng.uniform(300, 3600)),
            "error" if failing else rng.choice(("200", "304", "304")),
            rng.choice((500, 404, 403)) if failing else 200,
            rng.randint(1, 40) if failing else 0,
            "HTTP 500: Internal Server Error" if failing else None,
            counts.get(feed, 0),
        )


def _item_rows(
    sink: Sink, plan: Plan, text: TextMaker, rng: random.Random,
    kept: dict[int, tuple[str, str]],
) -> Iterator[Row]:
    for index, (feed, seen) in enumerate(zip(plan.feed_of, plan.seen_at, strict=True)):
        item = index + 1
        lang = plan.feed_language[feed]
        claims = plan.claims_of.get(item, ())
        title, summary, content = text.item(lang, claims)
        root = plan.copy_of.get(item)
        if root is not None:
            title, summary = text.copy(*kept[root], outlet(feed))
        if claims:
            kept[item] = (title, summary)
        day = datetime.fromtimestamp(seen, UTC)
        slug = "-".join(_WORDS.findall(title.lower())[:6])
        link = f"https://news{feed}.example.com/{day:%Y/%m}/{slug}-{item}"
        yield (
            item, feed, link, title, summary, content, link,
            sink.time(seen - rng.uniform(0, 10800)), sink.flag(rng.random() < 0.05),
            f"Reporter {item % 911}" if rng.random() < 0.3 else None, lang, sink.time(seen),
        )


def _evidence(match: Match, kept: tuple[str, str]) -> str:
    title, summary = kept
    snippet = summary[:220]
    return json.dumps({
        "terms": title.split()[:3], "spans": [[0, 8], [20, 31]], "snippet": snippet,
        "highlights": [[0, 8]], "sentence": snippet[:120], "query_matched": match.alert,
        "lexical": match.score, "semantic": None, "bm25": round(match.score * 11.3, 3),
    }, ensure_ascii=False)


def _alert_row(
    sink: Sink, alert: Alert, plan: Plan, kept: Mapping[int, tuple[str, str]],
    titles: Mapping[str, str],
) -> Row:
    sent = alert.status == "sent"
    created = alert.created
    if alert.match is not None:
        title, summary = kept[plan.matches[alert.match - 1].item]
        message = f"{titles.get(alert.claim, alert.claim)}: {title}"
        blocks = json.dumps([
            {"type": "header", "text": {"type": "plain_text", "text": message[:150]}},
            {"type": "section", "text": {"type": "mrkdwn", "text": summary[:400]}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"claim {alert.claim}"}]},
            {"type": "actions", "elements": [
                {"type": "button", "action_id": a, "text": {"type": "plain_text", "text": a}}
                for a in ("relevant", "false_positive", "mute")
            ]},
        ], ensure_ascii=False)
        plain = f"{message}\n{summary[:400]}"
    else:
        message, blocks, plain = "", "[]", ""
    return (
        alert.id, alert.kind, alert.match, alert.story, alert.parent, alert.claim, "#claims",
        alert.status, 1 if alert.status in ("sent", "failed") else 0, sink.flag(False),
        sink.time(created + 2 if alert.status in ("sent", "failed") else None),
        sink.time(created), sink.time(created), sink.time(created + 2 if sent else None),
        message, blocks, plain, "C0BENCH01" if sent else None,
        f"{created + 2:.6f}" if sent else None,
        "channel_not_found" if alert.status == "failed" else None,
    )


# -- filling --------------------------------------------------------------------


@dataclass(frozen=True)
class Filled:
    end: datetime
    seconds: float | None  # None: reused


def fill(url: str, shape: Shape, *, wipe: bool) -> Filled:
    """Reuse the database when it holds this shape; else (re)create it and fill it."""
    backend = make_url(url).get_backend_name()
    path = Path(make_url(url).database or "")
    if backend != "sqlite" or path.exists():
        meta, has_tables = _inspect_existing(url)
        if meta is not None and meta.get("shape") == _shape_json(shape):
            return Filled(datetime.fromisoformat(meta["end"]), None)
        if meta is None and has_tables and not wipe:
            raise SystemExit(
                f"{_label(url)} holds data this bench did not fill: pass --wipe to replace it"
                " (everything in it is lost), or pick another database"
            )
    end_at = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    started = time.perf_counter()
    vocab = vocabularies(Path(shape.vocab) if shape.vocab != "none" else None)
    claims = load_claims(CLAIMS_FILE).claims
    tags = {c.id: c.tags for c in claims}
    titles = {c.id: c.title for c in claims}
    claim_tags = {cid: tags.get(cid) or (list(TOPICS)[n % len(TOPICS)],)
                  for n, cid in enumerate(shape.claims)}
    plan = plan_history(shape, end_at.timestamp())
    maker = TextMaker(vocab, claim_tags, shape.seed + 1)
    print(f"filling {_label(url)}: {shape.items:,} items, {len(plan.matches):,} matches,"
          f" {len(plan.stories):,} stories, {len(plan.alerts):,} alerts,"
          f" {len(plan.feedback):,} verdicts (vocabulary and plan:"
          f" {time.perf_counter() - started:.1f} s)", flush=True)
    if backend == "sqlite":
        _fill_sqlite(url, path, plan, maker, titles, shape, end_at)
    else:
        _fill_postgres(url, plan, maker, titles, shape, end_at)
    return Filled(end_at, time.perf_counter() - started)


def _fill_sqlite(
    url: str, path: Path, plan: Plan, maker: TextMaker, titles: Mapping[str, str], shape: Shape,
    end_at: datetime,
) -> None:
    for suffix in ("", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
    Store(url).close()  # the real schema, FTS5 table and triggers included
    sink = SQLiteSink(path)
    write_history(sink, plan, maker, titles)
    _write_meta(sink, shape, end_at)
    sink.close()


def _fill_postgres(
    url: str, plan: Plan, maker: TextMaker, titles: Mapping[str, str], shape: Shape,
    end_at: datetime,
) -> None:
    print(f"WARNING: DROPPING claimbot's tables in {_label(url)} and filling them afresh",
          file=sys.stderr, flush=True)
    engine = create_db_engine(url)
    drop_schema(engine)
    engine.dispose()
    store = Store(url)
    with store.engine.begin() as connection:
        # No indexing row by row during COPY: Store(url) below indexes the matched items in
        # one statement, as for a database from before the index, and puts the trigger back.
        connection.execute(text("DROP TRIGGER IF EXISTS claimbot_index_matched_item ON matches"))
    sink = PostgresSink(store.engine)
    write_history(sink, plan, maker, titles)
    _write_meta(sink, shape, end_at)
    sink.close()
    store.close()
    Store(url).close()
    engine = create_db_engine(url)
    with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
        connection.execute(text("VACUUM ANALYZE"))  # what autovacuum does after a load
    engine.dispose()


def _inspect_existing(url: str) -> tuple[dict[str, Any] | None, bool]:
    """The bench's record of what it filled (None if it did not), and whether any table exists."""
    engine = create_db_engine(url)
    try:
        tables = set(inspect(engine).get_table_names())
        meta = None
        if "claimbot_meta" in tables:
            with engine.connect() as connection:
                value = connection.execute(
                    text("SELECT value FROM claimbot_meta WHERE key = :key"), {"key": META_KEY}
                ).scalar()
            meta = json.loads(value) if value else None
        return meta, bool(tables)
    finally:
        engine.dispose()


def _write_meta(sink: Sink, shape: Shape, end_at: datetime) -> None:
    value = json.dumps({"shape": _shape_json(shape), "end": end_at.isoformat()})
    sink.insert("claimbot_meta", ("key", "value"), [(META_KEY, value)])


def _shape_json(shape: Shape) -> dict[str, Any]:
    plain: dict[str, Any] = json.loads(json.dumps(asdict(shape)))
    return plain


def _label(url: str) -> str:
    return make_url(url).render_as_string(hide_password=True)


def database_size(store: Store) -> int:
    if store.engine.dialect.name == "sqlite":
        path = store.engine.url.database or ""
        files = [Path(f"{path}{suffix}") for suffix in ("", "-wal")]
        return sum(f.stat().st_size for f in files if f.exists())
    with store.engine.connect() as connection:
        return int(connection.execute(text(
            "SELECT sum(pg_total_relation_size(c.oid)) FROM pg_class c"
            " JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE c.relkind = 'r' AND n.nspname = current_schema()"
        )).scalar() or 0)


# -- measuring --------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    """One query shape: ``run(i)`` asks its i-th variant and returns the rows it got."""

    name: str
    run: Callable[[int], int]


@dataclass(frozen=True)
class Timing:
    name: str
    ms: list[float]
    rows: list[int]

    @property
    def slowest(self) -> int:
        """Which variant took longest (for a case, the ``i`` given to ``run``)."""
        return self.ms.index(max(self.ms))

    def percentile(self, p: float) -> float:
        ordered = sorted(self.ms)
        return ordered[max(0, math.ceil(p * len(ordered)) - 1)]


COMMON_WORDS = ("russia", "moscow", "venezuela", "kremlin", "cuba", "iran")
VERY_COMMON = ("the", "and", "de", "new")  # in most items: the worst case of a search
PHRASES = ('"air defence"', '"S-300"', '"La Habana"', '"power grid"', '"peace talks"',
           '"United States"')
PREFIXES = ("venezuel*", "kreml*", "ukrain*", "havan*", "sanction*")


def build_cases(
    store: Store, now: datetime, claims: Sequence[str], feeds: Sequence[str],
    busiest: Sequence[str], rare: Sequence[str],
) -> list[Case]:
    day, hour = timedelta(days=1), timedelta(hours=1)

    def matches(make: Callable[[int], MatchQuery]) -> Callable[[int], int]:
        return lambda i: len(store.find_matches(make(i)))

    def pick(values: Sequence[str], i: int) -> str:
        return values[i % len(values)]

    return [
        Case("newest page", matches(lambda i: MatchQuery(limit=20))),
        Case("by claim", matches(lambda i: MatchQuery(claim_ids=(pick(claims, i),)))),
        Case("by feed (any feed)", matches(lambda i: MatchQuery(feeds=(pick(feeds, i),)))),
        Case("by feed (20 busiest)", matches(lambda i: MatchQuery(feeds=(pick(busiest, i),)))),
        Case("window 30..23 days ago", matches(lambda i: MatchQuery(
            since=now - 30 * day - i * hour, until=now - 23 * day - i * hour))),
        Case("min score 0.9", matches(lambda i: MatchQuery(min_score=0.9 + (i % 5) / 100))),
        Case("status suggested", matches(lambda i: MatchQuery(status="suggested"))),
        Case("status false-positive", matches(lambda i: MatchQuery(status="false-positive"))),
        Case("search common word", matches(lambda i: MatchQuery(search=pick(COMMON_WORDS, i)))),
        Case("search very common word", matches(lambda i: MatchQuery(
            search=pick(VERY_COMMON, i)))),
        Case("search rare word", matches(lambda i: MatchQuery(search=pick(rare, i)))),
        Case("search phrase", matches(lambda i: MatchQuery(search=pick(PHRASES, i)))),
        Case("search prefix", matches(lambda i: MatchQuery(search=pick(PREFIXES, i)))),
        Case("search + claim + since", matches(lambda i: MatchQuery(
            search="russia", claim_ids=(pick(claims, i),), since=now - 30 * day))),
        Case("feeds status (feed_health)", lambda i: len(store.feed_health(now=now - i * hour))),
        Case("claim_stats 30 days", lambda i: len(
            store.claim_stats(since=now - 30 * day - i * hour))),
        Case("matches_per_day 30 days", lambda i: sum(
            len(d) for d in store.matches_per_day(since=now - 30 * day - i * hour).values())),
        Case("stories newest 20", lambda i: len(store.stories(limit=20))),
        Case("stories by claim", lambda i: len(store.stories(claim_id=pick(claims, i), limit=20))),
    ]


def time_case(case: Case, *, warmup: int, repeat: int) -> Timing:
    for i in range(warmup):
        case.run(repeat + i)  # warms the pool, statement cache and pages
    ms: list[float] = []
    rows: list[int] = []
    for i in range(repeat):
        started = time.perf_counter()
        rows.append(case.run(i))
        ms.append((time.perf_counter() - started) * 1000)
    return Timing(case.name, ms, rows)


def time_paging(store: Store, *, walks: int) -> Timing:
    """Per page, following ``after`` cursors from the newest match ``PAGES`` pages deep."""
    ms: list[float] = []
    rows: list[int] = []
    for _ in range(walks + 1):  # the first walk warms up
        after: int | None = None
        walk_ms: list[float] = []
        for _ in range(PAGES):
            started = time.perf_counter()
            page = store.find_matches(MatchQuery(after=after, limit=20))
            walk_ms.append((time.perf_counter() - started) * 1000)
            rows.append(len(page))
            if not page:
                break
            after = page[-1].id
        ms.extend(walk_ms)
    return Timing(f"deep paging, per page ({PAGES} deep)", ms[len(ms) // (walks + 1):], rows)


def paging_case(store: Store) -> Case:
    """Deep paging as a case (for --explain): the 50th page, cursors followed to it."""

    def run(_: int) -> int:
        after: int | None = None
        for _ in range(PAGES):
            page = store.find_matches(MatchQuery(after=after, limit=20))
            if not page:
                return 0
            after = page[-1].id
        return len(page)

    return Case(f"deep paging, per page ({PAGES} deep)", run)


# -- explaining -------------------------------------------------------------------


@contextmanager
def captured_sql(engine: Engine) -> Iterator[list[tuple[str, Any]]]:
    """The statements run on ``engine`` meanwhile, with their parameters."""
    seen: list[tuple[str, Any]] = []

    def before(_conn: Any, _cursor: Any, statement: str, parameters: Any, *_: Any) -> None:
        seen.append((statement, parameters))

    event.listen(engine, "before_cursor_execute", before)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", before)


def explain_case(store: Store, case: Case, variant: int) -> None:
    """Each statement a variant of the shape runs (the slowest one timed), slowest first: its
    time alone (run again, all rows fetched), how often the shape runs it, and its plan."""
    with captured_sql(store.engine) as seen:
        case.run(variant)
    grouped: dict[str, list[Any]] = {}
    for statement, parameters in seen:
        if statement.lstrip().upper().startswith(("SELECT", "WITH")):
            grouped.setdefault(statement, []).append(parameters)
    timed = []
    for statement, runs in grouped.items():
        with store.engine.connect() as connection:
            started = time.perf_counter()
            rows = len(connection.exec_driver_sql(statement, runs[0]).all())
            timed.append(((time.perf_counter() - started) * 1000, statement, runs, rows))
    started = time.perf_counter()
    case.run(variant)
    whole = (time.perf_counter() - started) * 1000
    sql = sum(ms * len(runs) for ms, _, runs, _ in timed)
    print(f"\n== {case.name}, variant {variant}: {len(seen)} statements, {len(grouped)}"
          f" distinct; the whole call {whole:.1f} ms, its SQL alone about {sql:.1f} ms (the"
          " rest: Python, ORM rows)")
    for ms, statement, runs, rows in sorted(timed, key=lambda t: -t[0] * len(t[2])):
        print(f"\n-- {ms:.1f} ms, {rows} rows, run {len(runs)} time(s); parameters {runs[0]!r}")
        print(_short_sql(statement))
        for line in explain(store.engine, statement, runs[0]):
            print(f"   {line}")


def explain(engine: Engine, statement: str, parameters: Any) -> list[str]:
    with engine.connect() as connection:
        if engine.dialect.name == "sqlite":
            rows = connection.exec_driver_sql(f"EXPLAIN QUERY PLAN {statement}", parameters).all()
            depth: dict[int, int] = {0: -1}
            lines = []
            for node, parent, _, detail in rows:
                depth[node] = depth.get(parent, -1) + 1
                lines.append("  " * depth[node] + str(detail))
            return lines
        rows = connection.exec_driver_sql(
            f"EXPLAIN (ANALYZE, BUFFERS) {statement}", parameters
        ).all()
        return [str(row[0]) for row in rows]


def _short_sql(statement: str) -> str:
    """The statement with a long first select list elided (the plan is what matters)."""
    head, sep, rest = statement.partition("\nFROM ")
    if sep and head.upper().startswith("SELECT") and len(head) > 160:
        count = head.count(",") + 1
        head = f"{head[:100]}, ... ({count} columns)"
    return head + sep + rest


# -- main -------------------------------------------------------------------------


def claim_ids(count: int) -> tuple[str, ...]:
    known = [c.id for c in load_claims(CLAIMS_FILE).claims]
    return tuple(known[:count]) + tuple(f"bench-claim-{n}" for n in range(len(known), count))


def table_counts(store: Store) -> dict[str, int]:
    counts = {}
    with store.engine.connect() as connection:
        for table in ("feeds", "items", "matches", "stories", "alerts", "feedback"):
            counts[table] = int(connection.execute(text(f"SELECT count(*) FROM {table}")).scalar()
                                or 0)
    return counts


def items_with(store: Store, words: str) -> int:
    """How many matched items a search finds (all of them, not one page; only matched items
    are indexed)."""
    ids = matched_item_hits(store.engine.dialect.name, parse_search(words)).subquery()
    with store.engine.connect() as connection:
        return int(connection.execute(select(func.count()).select_from(ids)).scalar() or 0)


def rare_words(store: Store, items: int, *, wanted: int = 10) -> list[str]:
    """Words in a few hundredths of a percent of items, from titles sampled across the table."""
    rng = random.Random(7)
    ids = sorted(rng.sample(range(1, items + 1), min(items, 300)))
    with store.engine.connect() as connection:
        titles = connection.execute(
            select(text("title")).select_from(text("items")).where(
                text("id IN (" + ",".join(map(str, ids)) + ")")
            )
        ).scalars().all()
    candidates = sorted({w.lower() for t in titles for w in _WORDS.findall(t)
                         if len(w) >= 7 and w.isalpha()})
    rng.shuffle(candidates)
    found: list[str] = []
    ceiling = max(2, items // 5000)
    for word in candidates:
        if 1 <= items_with(store, word) <= ceiling:
            found.append(word)
            if len(found) == wanted:
                break
    return found or ["nonexistentword"]


def print_timings(timings: Sequence[Timing]) -> list[str]:
    """The table; returns the names of the shapes over the goal."""
    slow = []
    print(f"\n{'shape':<34} {'p50 ms':>8} {'p95 ms':>8} {'max ms':>8} {'rows':>9}   goal p95")
    for t in timings:
        p95 = t.percentile(0.95)
        low, high = min(t.rows), max(t.rows)
        rows = str(low) if low == high else f"{low}-{high}"
        verdict = f"< {GOAL_MS:.0f} ok" if p95 < GOAL_MS else f"< {GOAL_MS:.0f} SLOW"
        if p95 >= GOAL_MS:
            slow.append(t.name)
        print(f"{t.name:<34} {t.percentile(0.5):8.1f} {p95:8.1f} {max(t.ms):8.1f} {rows:>9}"
              f"   {verdict}")
    return slow


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--items", type=int, default=1_000_000)
    parser.add_argument("--feeds", type=int, default=2000)
    parser.add_argument("--claims", type=int, default=11, help="first N ids of claims.yaml")
    parser.add_argument("--match-rate", type=float, default=0.08)
    parser.add_argument("--days", type=int, default=365)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument("--warmup", type=int, default=2)
    parser.add_argument("--db", type=Path, default=DEFAULT_DB, help="SQLite file, kept for reuse")
    parser.add_argument("--database-url",
                        help="PostgreSQL instead: its claimbot tables are DROPPED")
    parser.add_argument("--wipe", action="store_true",
                        help="replace a database this bench did not fill")
    parser.add_argument("--vocab", default=str(DEFAULT_VOCAB),
                        help="folder of real feeds for word frequencies, or 'none'")
    parser.add_argument("--only", nargs="*", default=[], help="shapes whose name contains these")
    parser.add_argument("--explain", choices=("slow", "all", "none"), default="slow")
    parser.add_argument("--analyze", action="store_true",
                        help="run ANALYZE before measuring (the store never does on SQLite)")
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> list[str]:
    """Fill (or reuse), measure, print; returns the names of the shapes over the goal."""
    args = parse_args(argv)
    url = args.database_url or f"sqlite:///{args.db}"
    vocab = args.vocab if args.vocab == "none" else str(Path(args.vocab).resolve())
    shape = Shape(args.items, args.feeds, claim_ids(args.claims), args.match_rate, args.days,
                  args.seed, vocab)
    filled = fill(url, shape, wipe=args.wipe)
    if args.analyze:
        engine = create_db_engine(url)
        with engine.begin() as connection:
            connection.execute(text("ANALYZE"))
        engine.dispose()
    store = Store(url)  # the store's own settings, as claimbot runs it
    try:
        return measure(store, args, shape, filled)
    finally:
        store.close()


def measure(store: Store, args: argparse.Namespace, shape: Shape, filled: Filled) -> list[str]:
    backend = store.engine.dialect.name
    version = sqlite3.sqlite_version if backend == "sqlite" else ".".join(
        map(str, store.engine.dialect.server_version_info or ()))
    counts = table_counts(store)
    fill_note = "reused" if filled.seconds is None else f"filled in {filled.seconds:.0f} s"
    analyzed = "run" if args.analyze else "not run"
    print(f"claimbot query bench: {_label(store.url)} ({backend} {version}, {fill_note},"
          f" {database_size(store) / 2**20:,.0f} MB, ANALYZE {analyzed})")
    print("rows: " + ", ".join(f"{n:,} {t}" for t, n in counts.items())
          + f"; history ends {filled.end:%Y-%m-%d %H:%M} UTC, {shape.days} days")
    rare = rare_words(store, counts["items"])
    searched = [*COMMON_WORDS[:3], PHRASES[0], PREFIXES[0], rare[0]]
    print("items found by search: " + ", ".join(f"{w} {items_with(store, w):,}" for w in searched)
          + f" (rare words: {', '.join(rare)})")
    with store.engine.connect() as connection:
        feed_rows = connection.execute(
            text("SELECT f.url FROM feeds f ORDER BY f.items_seen DESC, f.id")
        ).scalars().all()
    busiest = feed_rows[:20]
    spread = random.Random(3).sample(list(feed_rows), min(len(feed_rows), 200))
    cases = build_cases(store, filled.end, shape.claims, spread, busiest, rare)
    cases.append(paging_case(store))
    wanted = [c for c in cases if not args.only or any(w in c.name for w in args.only)]
    timings = []
    load_before = os.getloadavg()[0]
    for case in wanted:
        if case.name.startswith("deep paging"):
            timings.append(time_paging(store, walks=max(1, args.repeat // 10)))
        else:
            timings.append(time_case(case, warmup=args.warmup, repeat=args.repeat))
    slow = print_timings(timings)
    print(f"\nload average (1 min) {load_before:.2f} before, {os.getloadavg()[0]:.2f} after,"
          f" on {os.cpu_count()} cores")
    print(f"{args.repeat} repetitions after {args.warmup} warm-up ones (deep paging:"
          f" {max(1, args.repeat // 10)} walks after one warm-up walk); goal: p95 under"
          f" {GOAL_MS:.0f} ms; {len(slow)} shape(s) over it"
          + (f": {', '.join(slow)}" if slow else ""))
    for case, timing in zip(wanted, timings, strict=True):
        if args.explain == "all" or (args.explain == "slow" and case.name in slow):
            explain_case(store, case, timing.slowest)
    return slow


if __name__ == "__main__":
    main()
