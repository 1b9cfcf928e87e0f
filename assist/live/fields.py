"""Values a customer typed that templates ask for: amounts, dates, card endings, references.

Each finder takes one message's text and returns what it found (the value to put in the reply
and the words it came from) or None. They are pure functions of the text, so the rules are easy
to test with positives and negatives (tests/assist/live/test_fields.py); which message a value
came from is rendering.py's business.

Finders also take the conversation's language (`Conversation.language`; "es-MX" reads as "es")
and read English plus that language's words, for Spanish and German (`LANGUAGES`); any other
language, or none known, reads English only. A date is written in the conversation's language
("3 de marzo", "3. März"), since it goes into a reply in that language.

The rules lean towards finding nothing: a wrong value in a reply costs more than a visible
`[[field]]` the agent fills by hand, and the panel always says where a filled value came from.

- Amounts: a regular expression finds a number written with a currency (`£25.50`, `25 EUR`,
  `40 dollars`); price-parser reads it (thousands and decimal separators in either convention).
  A number without a currency is not an amount: "card ending 4821" and "order 12345" are not.
  "25,50 €" and "30 euros" read as amounts too. The amount is written in the conversation's
  language: "€1,200.50" in English, "1.200,50 €" in Spanish and German.
- Dates: dateparser's search over the text, relative to when the message was sent ("yesterday",
  "ayer", "gestern"), keeping only matches with a day and a month ("on 3 March", "12/10",
  "del 3 de marzo", "am 3. März"), not a bare year or "now". In a Spanish or German
  conversation "12/10" is day first (12 October), as written there.
- Card endings: the last four digits named as such ("card ending in 4821", "last four digits are
  4821", "****4821", "tarjeta terminada en 4821", "Karte endet auf 4821"). A full card number is
  never copied into a reply.
- References: an order, reference, case, ticket, dispute or booking number with at least one
  digit ("order #A-10293", "reference: 77812", "número de pedido 77812", "Bestellnummer 55123").
"""

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from functools import lru_cache

from django.utils import translation
from django.utils.dates import MONTHS
from django.utils.formats import number_format
from price_parser import Price

# Languages read besides English; each needs its words below (dates, card endings, references).
LANGUAGES = ("es", "de")


@dataclass(frozen=True)
class Found:
    value: str  # what goes into the reply
    matched: str  # the customer's own words it was read from


def base_language(language: str) -> str:
    """The language whose words are read besides English: "es-MX" -> "es"; "" if none."""
    base = language.strip().split("-")[0].split("_")[0].lower()
    return base if base in LANGUAGES else ""


# --- Amounts ---------------------------------------------------------------------------------

_NUMBER = r"\d{1,3}(?:[,.\s]\d{3})*(?:[.,]\d{1,2})?|\d+(?:[.,]\d{1,2})?"
_SYMBOL = r"[£$€¥₹]"
_CODE = r"(?:USD|EUR|GBP|CHF|CAD|AUD|JPY|INR|SEK|NOK|DKK|PLN)"
_WORD = r"(?:dollars?|euros?|pounds?|quid|bucks)"
_AMOUNT = re.compile(
    rf"(?P<before>{_SYMBOL}|\b{_CODE})\s?(?P<n1>{_NUMBER})(?![\d])"
    rf"|(?<![\w.,])(?P<n2>{_NUMBER})\s?(?P<after>{_SYMBOL}|{_CODE}\b|{_WORD}\b)",
    re.IGNORECASE,
)
_WORD_SYMBOL = {"dollar": "$", "buck": "$", "euro": "€", "pound": "£", "quid": "£"}


def find_amount(text: str, *, language: str = "") -> Found | None:
    match = _AMOUNT.search(text)
    if match is None:
        return None
    number = match.group("n1") or match.group("n2")
    currency = (match.group("before") or match.group("after")).strip()
    price = Price.fromstring(number)
    if price.amount is None or price.amount <= 0:
        return None
    word = currency.lower().rstrip("s")
    symbol = _WORD_SYMBOL.get(word, currency.upper() if len(currency) == 3 else currency)
    return Found(value=format_amount(price.amount, symbol, language), matched=match.group(0))


def format_amount(amount: Decimal, currency: str, language: str = "") -> str:
    """An amount as a reply in `language` writes it: "€1,200.50" in English, "1.200,50 €" in
    German, "1 200,50 €" in Spanish (separators from Django's formats of the base language, so
    "es-MX" writes as "es"; a symbol goes after the number there, as a code does everywhere)."""
    lang = base_language(language) or "en"
    places = 0 if amount == amount.to_integral_value() else 2
    with translation.override(lang):
        figures = number_format(amount, places, use_l10n=True, force_grouping=True)
    if len(currency) == 1 and lang == "en":
        return f"{currency}{figures}"
    return f"{figures} {currency}"


# --- Dates -----------------------------------------------------------------------------------

_MONTHS = {
    "en": r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?",
    # Full names only: short forms such as "ago" or "mar" are everyday words there.
    "es": r"enero|febrero|marzo|abril|mayo|junio|julio|agosto|se(?:p|t)?tiembre|octubre"
    r"|noviembre|diciembre",
    "de": r"januar|jänner|februar|märz|maerz|april|mai|juni|juli|august|september|oktober"
    r"|november|dezember",
}
_RELATIVE_DAYS = {
    "en": r"yesterday|today",
    "es": r"anteayer|ayer|hoy",
    "de": r"vorgestern|gestern|heute",
}
_DATE_SETTINGS = {
    "PREFER_DATES_FROM": "past",  # a customer reports what happened
    "REQUIRE_PARTS": ["day", "month"],
    "RETURN_AS_TIMEZONE_AWARE": False,
}
# How a day and a month are written in a reply; `{month}` is Django's own translation of the
# month name (django.utils.dates.MONTHS, shipped with Django), so no table of month names and
# no new dependency (Babel is not installed) is needed.
_DATE_FORMATS = {
    "en": ("{day} {month}", "{day} {month} {year}"),
    "es": ("{day} de {month}", "{day} de {month} de {year}"),
    "de": ("{day}. {month}", "{day}. {month} {year}"),
}


@lru_cache(maxsize=8)
def _date_hint(language: str) -> re.Pattern[str]:
    """A cheap first look, so that dateparser (tens of milliseconds a text) only reads messages
    that may hold a date; also what a match must contain to count (a day, a month, or a named
    day). English words, plus the conversation's language's."""
    codes = ["en", language] if language else ["en"]
    months = "|".join(_MONTHS[code] for code in codes)
    days = "|".join(_RELATIVE_DAYS[code] for code in codes)
    return re.compile(
        rf"\b(?:{months})\b|\b\d{{1,2}}[/.-]\d{{1,2}}(?:[/.-]\d{{2,4}})?\b|\b(?:{days})\b",
        re.IGNORECASE,
    )


def find_date(text: str, *, sent_at: datetime, language: str = "") -> Found | None:
    """The first date in `text` with a day and a month; relative ones count from `sent_at`."""
    lang = base_language(language)
    hint = _date_hint(lang)
    if not hint.search(text):
        return None
    from dateparser.search import search_dates  # a second to import: only where dates are read

    base = sent_at.replace(tzinfo=None)
    settings = {**_DATE_SETTINGS, "RELATIVE_BASE": base}
    if lang:
        settings["DATE_ORDER"] = "DMY"  # "12/10" is 12 October in Spanish and German
    found = search_dates(text, languages=[lang, "en"] if lang else ["en"], settings=settings)
    for matched, when in found or []:
        if hint.search(matched):
            value = format_date(when, lang, with_year=when.year != base.year)
            return Found(value=value, matched=matched.strip())
    return None


def format_date(when: datetime, language: str = "", *, with_year: bool = False) -> str:
    """A day and a month as a reply in `language` writes them: "3 March", "3 de marzo"."""
    lang = base_language(language) or "en"
    with translation.override(lang):
        month = str(MONTHS[when.month])
    short, full = _DATE_FORMATS[lang]
    return (full if with_year else short).format(day=when.day, month=month, year=when.year)


# --- Card endings ----------------------------------------------------------------------------

_CARD_WORDS = {
    "en": r"\b(?:card|account)\s+(?:number\s+)?end(?:s|ing)?(?:\s+(?:in|with))?"
    r"|\bend(?:s|ing)\s+(?:in|with)"
    r"|\blast\s+(?:4|four)(?:\s+digits)?(?:\s+(?:are|is|of\s+(?:my|the)\s+card(?:\s+are)?))?",
    # The card or account is named: "termina en 2024" alone could be anything ending in a year.
    "es": r"\b(?:tarjeta|cuenta)(?:\s+de\s+(?:cr[ée]dito|d[ée]bito))?"
    r"\s+(?:que\s+)?termina(?:da)?\s+en"
    r"|\b[úu]ltimos\s+(?:4|cuatro)\s+(?:d[íi]gitos|n[úu]meros)(?:\s+son)?",
    "de": r"\b(?:kredit|debit|ec-?|bank)?(?:karte|konto)(?:nummer)?\s+endet\s+(?:auf|mit)"
    r"|\bletzten\s+(?:4|vier)\s+(?:ziffern|stellen)(?:\s+(?:sind|lauten))?",
}


@lru_cache(maxsize=8)
def _card_ending(language: str) -> re.Pattern[str]:
    words = "|".join(_CARD_WORDS[code] for code in (["en", language] if language else ["en"]))
    return re.compile(
        rf"(?:{words}|[*xX•]{{4,}}[\s-]?)\s*:?\s*(?P<digits>\d{{4}})(?![\d])", re.IGNORECASE
    )


def find_card_ending(text: str, *, language: str = "") -> Found | None:
    match = _card_ending(base_language(language)).search(text)
    return Found(value=match.group("digits"), matched=match.group(0)) if match else None


# --- Order and reference numbers -------------------------------------------------------------

# What names the number, then the words that may stand between it and the number.
_REFERENCE_WORDS = {
    "en": (
        r"\b(?:order|reference|ref|case|ticket|dispute|booking|transaction)"
        r"(?:\s+(?:number|no\.?|id|code))?",
        r"is|was",
    ),
    "es": (
        r"\b(?:pedido|referencia|caso|ticket|reserva|transacci[óo]n|reclamaci[óo]n)"
        r"(?:\s+(?:n[úu]mero|n[º°o]\.?|nro\.?|c[óo]digo))?",
        r"es|era",
    ),
    # "Fall" only with "-nummer" or "Nr.": "im Fall 2024" is a year, not a case.
    "de": (
        r"\b(?:bestell(?:ung|nummer)|referenz(?:nummer)?|fall(?:nummer|\s+nr\.?)"
        r"|ticket(?:nummer)?|buchung(?:snummer)?|transaktion(?:snummer)?)"
        r"(?:\s+(?:nr\.?|nummer))?",
        r"ist|war|lautet",
    ),
}


@lru_cache(maxsize=8)
def _reference(language: str) -> re.Pattern[str]:
    codes = ["en", language] if language else ["en"]
    names = "|".join(_REFERENCE_WORDS[code][0] for code in codes)
    verbs = "|".join(_REFERENCE_WORDS[code][1] for code in codes)
    return re.compile(
        rf"(?:{names})\s*(?:(?:{verbs})\s+|:\s*|#\s*)?#?"
        r"(?P<ref>(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{3,31})(?![\w-])",
        re.IGNORECASE,
    )


def find_reference(text: str, *, language: str = "") -> Found | None:
    match = _reference(base_language(language)).search(text)
    if match is None or not re.search(r"\d", match.group("ref")):
        return None
    return Found(value=match.group("ref").upper(), matched=match.group(0))
