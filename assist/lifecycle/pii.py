"""Personal data out of message text before it leaves the database for training.

Conservative by design: a false positive costs a few training tokens, a false negative leaks a
customer's number into a model directory. Each kind becomes a fixed tag the model can still
learn from ("the customer gave a card number").
"""

import re

# Order matters: the longer, more specific patterns go first, so a card number is not eaten
# by the phone or account patterns.
_PATTERNS: list[tuple[str, re.Pattern[str]]] = [
    ("[email]", re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+", re.IGNORECASE)),
    # IBAN: two letters, two check digits, 11-30 alphanumerics, optionally in groups of four.
    ("[account]", re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,3})?\b")),
    # Card-like: 13-19 digits, possibly grouped by spaces or dashes.
    ("[card]", re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")),
    # Phone-like: international (+ and 7-15 digits) or national with separators, e.g.
    # (555) 123-4567, 020 7946 0958.
    ("[phone]", re.compile(r"(?<![\w+])\+\d(?:[ .()-]{0,2}\d){6,14}(?!\w)")),
    (
        "[phone]",
        re.compile(r"(?<!\w)(?:\(\d{2,5}\)|0\d{1,4}|\d{3})[ .-]?\d{3,4}[ .-]\d{3,4}(?!\w)"),
    ),
    # Account-like: any remaining run of 6 or more digits (sort codes, account and order ids),
    # but not an ISO date, which says when, not who.
    ("[account]", re.compile(r"(?<!\w)(?!\d{4}-\d\d-\d\d(?!\d))\d(?:[ -]?\d){5,}(?!\w)")),
]


def pii_scrub(text: str) -> str:
    """`text` with emails, card-, phone- and account-like numbers replaced by tags."""
    for tag, pattern in _PATTERNS:
        text = pattern.sub(tag, text)
    return text
