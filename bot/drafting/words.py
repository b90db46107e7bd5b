"""Words of a sentence, and the word lists the drafting heuristics look them up in.

Attribution and key terms work on the same tokens (``_Word``: text, folded form and
character span) and share lists (speakers, hedges, connectors, verbs of saying), so the
tokens and the lists live here, below both. The lists are folded and cover English,
Spanish and Russian, as the feeds are EN/ES/RU.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from bot.matching.normalize import fold

# --- word lists (folded: lower case, no accents; й folds to и, ё to е) -----------------

_SAY_VERBS = frozenset(
    """said says say saying told tells tell claimed reported wrote writes warned warns denied
    denies deny announced announces estimated admitted admits stated added adds argued argues
    insisted insists confirmed confirms alleged alleges acknowledged acknowledges asserted
    asserts noted explained explains complained complains criticised criticized criticises
    criticizes accused accuses predicted predicts believe believes believed believing expressed
    expresses described describes declared declares revealed reveals disclosed conceded concedes
    cautioned stressed emphasised emphasized contended concluded
    dijo dice dicen dijeron afirmo afirma afirman afirmaron declaro declara declararon aseguro
    asegura aseguran aseguraron senalo senala senalaron indico indica informo informa informaron
    anuncio anuncia advirtio advierte nego niega reconocio reconoce admitio admite sostuvo sostiene
    explico anadio denuncio denuncia estimo estima revelo confirmo confirma manifesto subrayo
    destaco insistio acuso considera consideran cree creen""".split()
)
# Verbs whose object can be a bare clause ("said the plan failed"), unlike "criticised the plan".
_CLAUSE_VERBS = frozenset(
    """said says say told tells claimed wrote writes warned warns added adds argued argues insisted
    insists believes believed believe estimated admitted admits stated predicted predicts
    concluded noted explained confirmed acknowledged asserted contended stressed cautioned
    conceded declared dijo dice dicen dijeron afirmo afirma afirman afirmaron aseguro asegura
    aseguran aseguraron declaro senalo indico explico anadio sostuvo sostiene estimo considera
    cree creen advirtio reconocio admitio""".split()
)
# News media: the messenger, never what a claim is about (folded).
_OUTLETS = frozenset(
    " ".join(name.split())
    for name in """reuters|bloomberg|ap|afp|associated press|bbc|cnn|tass|ria|ria novosti|
    interfax|efe|xinhua|al jazeera|new york times|the new york times|washington post|
    financial times|
    wall street journal|the guardian|guardian|kommersant|vedomosti|el pais|el mundo|
    europa press|digi24|politico|axios|dpa|ansa|meduza|тасс|риа новости|интерфакс|коммерсант|
    ведомости""".split("|")
)
# Also nouns ("the claims", "reports"): a verb only when "that" follows.
_SAY_VERBS_WITH_THAT = frozenset("claims reports estimates notes".split())
_SAY_PREFIXES_RU = (
    "заяв",
    "сообщ",
    "сказал",
    "отметил",
    "подчеркну",
    "признал",
    "предупред",
    "опроверг",
    "объявил",
    "пишет",
    "написал",
    "утвержда",
    "считает",
    "считают",
    "полагает",
    "говорит",
    "говорят",
    "рассказал",
    "добавил",
    "пояснил",
    "обвинил",
    "отрица",
)
_ACCORDING = (
    ("according", "to"),
    ("segun",),
    ("de", "acuerdo", "con"),
    ("по", "словам"),
    ("по", "данным"),
    ("по", "сообщению"),
    ("по", "информации"),
)
_HEDGES = frozenset(
    "reportedly allegedly purportedly supposedly presuntamente supuestamente якобы".split()
)
_THAT = frozenset("that que что".split())
_BE = frozenset("is are was were be been being fue fueron es son был была было были".split())
_SPEAKERS = frozenset(
    """official officials spokesman spokeswoman spokesperson minister ministry government
    president source sources analyst analysts expert experts diplomat diplomats leader leaders
    lawmaker lawmakers senator commander ambassador envoy prosecutor prosecutors police
    funcionario funcionarios portavoz ministro ministerio gobierno presidente fuentes analistas
    expertos чиновник чиновники представитель министр министерство правительство президент
    источник источники эксперт эксперты аналитик аналитики""".split()
)
_PRONOUNS = frozenset(
    """i we you he she it they this these those one yo el ella ellos ellas
    я мы вы он она оно они это""".split()
)
# Words that end a subject looking back from its verb ("after Havana announced").
_CLAUSE_WORDS = frozenset(
    """that which who whom whose after before when while as because since if although though
    whereas where and but or so than until once what
    que quien quienes cuando mientras porque pero donde как что когда но который которая
    которые после""".split()
)
_SUBJECT_TAIL = frozenset(
    """have has had also now already repeatedly publicly privately previously recently earlier
    later again still yet just then is are was were will would could can may might did do does
    not never ha han habia ya tambien также уже ранее не""".split()
)
_ADJUNCT_STARTS = frozenset("in on at during after en durante tras в во на после".split())
_DETERMINERS = frozenset("the a an el la los las un una".split())
_CONNECTORS = frozenset("of de del da do dos van von bin al".split())
_AND = frozenset("and y и".split())
_STOPWORDS = frozenset(
    """a an and are as at be been but by for from has have he her his in into is it its not of on
    or over said says she that the their them they this to was were will with would could should
    than then there these those which who whom what when where why how also more most very much
    many such other others some even still just only well both each made make makes time times
    year years month months week weeks day days moment moments people part parts large little
    real really new now past several since across about against between because while without
    within through during after before under whether being does did doing done might must shall
    cannot there here what into onto upon amid among whose your our ours mine yours theirs
    last next first second third another same rather around already again never ever every
    view views keep keeps kept result results include includes included including provide
    provided provides become became remain remains remained show shows showed seem seems seemed
    take takes took give gives gave country countries situation level number side point case
    issue issues thing things fact group until unless
    durante contra hacia mediante todo toda todos todas muy hoy ayer asi aunque cada otro otra
    otros otras mismo misma puede pueden sido esta estan sera hay habia ser estar tiene tienen
    hace
    вокруг около перед через между под над при для без того этом этого все всё более менее
    тоже очень будут быть если чтобы когда где который которая которые
    al con de del el en es la las lo los para por que se su sus un una y o este esta estos estas
    ese esa eso como mas pero sin sobre entre tras desde hasta ante bajo cuando donde ha han fue
    и в во не на что с со как а по из у от за это этот эта эти его ее их он она они но или же
    бы уже еще только также был была было были будет может""".split()
)
_CAP_STOP = frozenset(
    """the a an in on at as for from with but and or so yet this that these those they he she it
    we its their our his her according after before over under while when if although despite
    much many some several recent other others also meanwhile however still now there here
    el la los las un una en por para con pero segun в на по и но как это""".split()
)
_CALENDAR = frozenset(
    """monday tuesday wednesday thursday friday saturday sunday january february march april may
    june july august september october november december""".split()
)

_WORD = re.compile(r"[^\W_](?:\w|[-'’.](?=[^\W_]))*")
_POSSESSIVE = re.compile(r"['’]s$", re.I)


@dataclass(frozen=True)
class _Word:
    text: str
    folded: str
    start: int
    end: int


def _words(sentence: str) -> list[_Word]:
    return [_Word(m.group(), fold(m.group()), m.start(), m.end()) for m in _WORD.finditer(sentence)]


def _gap(sentence: str, words: Sequence[_Word], index: int) -> str:
    """The text between word ``index - 1`` and word ``index``."""
    start = words[index - 1].end if index > 0 else 0
    return sentence[start : words[index].start]


def _is_code(text: str) -> bool:
    """An acronym or a model name: ``NATO``, ``ПВО``, ``U.S``, ``S-300``, ``Buk-M2``."""
    has_digit = any(ch.isdigit() for ch in text)
    has_letter = any(ch.isalpha() for ch in text)
    return (has_digit and has_letter) or sum(ch.isupper() for ch in text) >= 2


def _is_name(word: _Word) -> bool:
    return word.text[0].isupper() or _is_code(word.text)


def _base(word: _Word) -> str:
    return _POSSESSIVE.sub("", word.folded)
