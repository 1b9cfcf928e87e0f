"""The conversation's language: detected from the customer's messages, or set by a person.

Detection uses Lingua (`lingua-language-detector`), whose language models ship inside the
package (nothing is downloaded) and which is the most accurate of the offline identifiers on
short text; it is deterministic, so there is no seed to fix. It runs in the worker, on the
customer's messages so far, before the suggestions are rendered (assist.live.suggestions), and
decides only when it is confident: "hi" or "ok" leave the language undecided.

The helpdesk (the REST API) and the agent (the panel) may set the language; that is an
override, and detection never replaces it (`language_source` says who decided). The writes
are in assist.live.languages.
"""

import re
from functools import lru_cache
from typing import Any

from django.conf import settings

from assist.errors import InvalidInput
from assist.models import Conversation
from templates_app.models import LOCALE_PATTERN

Source = Conversation.LanguageSource
HELPDESK, AGENT = Source.HELPDESK.value, Source.AGENT.value
OVERRIDES = (HELPDESK, AGENT)
# Fewer letters than this is no evidence of a language, however sure the detector says it is.
MIN_LETTERS = 8
# The customer's latest text that detection reads: enough to decide, bounded in cost.
MAX_CHARS = 1000


@lru_cache(maxsize=2)
def _detector(codes: tuple[str, ...]) -> Any:
    """A Lingua detector over these languages, built once per process (its models take a few
    seconds and some memory to load); keyed by the codes because tests change the setting."""
    from lingua import IsoCode639_1, Language, LanguageDetectorBuilder

    languages = [
        Language.from_iso_code_639_1(getattr(IsoCode639_1, code.upper())) for code in codes
    ]
    return LanguageDetectorBuilder.from_languages(*languages).build()


def detect_language(customer_texts: list[str]) -> str | None:
    """The ISO 639-1 code of the customer's messages taken together, or None when the
    identifier is not confident (LANGUAGE_DETECTION_MIN_CONFIDENCE) or the text too short."""
    text = "\n".join(customer_texts)[-MAX_CHARS:]
    if sum(character.isalpha() for character in text) < MIN_LETTERS:
        return None
    detector = _detector(tuple(settings.LANGUAGE_DETECTION_LANGUAGES))
    values = detector.compute_language_confidence_values(text)
    if not values or values[0].value < settings.LANGUAGE_DETECTION_MIN_CONFIDENCE:
        return None
    return str(values[0].language.iso_code_639_1.name.lower())


def language_frame(conversation: Conversation) -> dict[str, object]:
    """The conversation's language as the panel shows it: the code (blank: not known), who set
    it, and whether the serving model was trained on it (False: suggestions are out of the
    model's languages and likely worse)."""
    code = conversation.language
    base = code.split("-")[0]
    return {
        "code": code,
        "source": conversation.language_source,
        "in_model": not code or base in settings.RANKER_LANGUAGES,
    }


def language_validate(language: str) -> str:
    """A language code as stored (blank: not known), or InvalidInput."""
    code = language.strip()
    if code and not re.fullmatch(LOCALE_PATTERN, code):
        raise InvalidInput("language must be a code such as es or pt-BR")
    return code
