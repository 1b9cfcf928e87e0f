"""Values a customer typed that templates ask for: amounts, dates, card endings, references.

Each finder takes one message's text and returns what it found (the value to put in the reply
and the words it came from) or None. They are pure functions of the text, so the rules are easy
to test with positives and negatives (tests/assist/live/test_fields.py); which message a value
came from is rendering.py's business.

The rules lean towards finding nothing: a wrong value in a reply costs more than a visible
`[[field]]` the agent fills by hand, and the panel always says where a filled value came from.

- Amounts: a regular expression finds a number written with a currency (`£25.50`, `25 EUR`,
  `40 dollars`); price-parser reads it (thousands and decimal separators in either convention).
  A number without a currency is not an amount: "card ending 4821" and "order 12345" are not.
- Dates: dateparser's search over the text, relative to when the message was sent ("yesterday"),
  keeping only matches with a day and a month ("on 3 March", "12/10", "yesterday"), not a bare
  year or "now".
- Card endings: the last four digits named as such ("card ending in 4821", "last four digits are
  4821", "****4821"). A full card number is never copied into a reply.
- References: an order, reference, case, ticket, dispute or booking number with at least one
  digit ("order #A-10293", "reference: 77812").
"""

import re
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from price_parser import Price


@dataclass(frozen=True)
class Found:
    value: str  # what goes into the reply
    matched: str  # the customer's own words it was read from


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


def find_amount(text: str) -> Found | None:
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
    return Found(value=_format_amount(price.amount, symbol), matched=match.group(0))


def _format_amount(amount: Decimal, currency: str) -> str:
    figures = f"{amount:,.2f}" if amount != amount.to_integral_value() else f"{amount:,.0f}"
    return f"{currency}{figures}" if len(currency) == 1 else f"{figures} {currency}"


# --- Dates -----------------------------------------------------------------------------------

_MONTHS = (
    r"jan(?:uary)?|feb(?:ruary)?|mar(?:ch)?|apr(?:il)?|may|june?|july?|aug(?:ust)?"
    r"|sep(?:t(?:ember)?)?|oct(?:ober)?|nov(?:ember)?|dec(?:ember)?"
)
# A cheap first look, so that dateparser (tens of milliseconds a text) only reads messages that
# may hold a date; also what a match must contain to count (a day, a month, or a named day).
_DATE_HINT = re.compile(
    rf"\b(?:{_MONTHS})\b|\b\d{{1,2}}[/.-]\d{{1,2}}(?:[/.-]\d{{2,4}})?\b|\b(?:yesterday|today)\b",
    re.IGNORECASE,
)
_DATE_SETTINGS = {
    "PREFER_DATES_FROM": "past",  # a customer reports what happened
    "REQUIRE_PARTS": ["day", "month"],
    "RETURN_AS_TIMEZONE_AWARE": False,
}


def find_date(text: str, *, sent_at: datetime) -> Found | None:
    """The first date in `text` with a day and a month; relative ones count from `sent_at`."""
    if not _DATE_HINT.search(text):
        return None
    from dateparser.search import search_dates  # a second to import: only where dates are read

    base = sent_at.replace(tzinfo=None)
    found = search_dates(text, languages=["en"], settings={**_DATE_SETTINGS, "RELATIVE_BASE": base})
    for matched, when in found or []:
        if _DATE_HINT.search(matched):
            value = f"{when.day} {when:%B}" + (f" {when.year}" if when.year != base.year else "")
            return Found(value=value, matched=matched.strip())
    return None


# --- Card endings ----------------------------------------------------------------------------

_CARD_ENDING = re.compile(
    r"(?:\b(?:card|account)\s+(?:number\s+)?end(?:s|ing)?(?:\s+(?:in|with))?"
    r"|\bend(?:s|ing)\s+(?:in|with)"
    r"|\blast\s+(?:4|four)(?:\s+digits)?(?:\s+(?:are|is|of\s+(?:my|the)\s+card(?:\s+are)?))?"
    r"|[*xX•]{4,}[\s-]?)"
    r"\s*:?\s*(?P<digits>\d{4})(?![\d])",
    re.IGNORECASE,
)


def find_card_ending(text: str) -> Found | None:
    match = _CARD_ENDING.search(text)
    return Found(value=match.group("digits"), matched=match.group(0)) if match else None


# --- Order and reference numbers -------------------------------------------------------------

_REFERENCE = re.compile(
    r"\b(?:order|reference|ref|case|ticket|dispute|booking|transaction)"
    r"(?:\s+(?:number|no\.?|id|code))?\s*(?:is\s+|was\s+|:\s*|#\s*)?#?"
    r"(?P<ref>(?=[A-Z0-9-]*\d)[A-Z0-9][A-Z0-9-]{3,31})(?![\w-])",
    re.IGNORECASE,
)


def find_reference(text: str) -> Found | None:
    match = _REFERENCE.search(text)
    if match is None or not re.search(r"\d", match.group("ref")):
        return None
    return Found(value=match.group("ref").upper(), matched=match.group(0))
