"""Placeholder syntax of template bodies, and rendering with whatever values are known.

A placeholder is `{name}` with a lower-case identifier inside. `{{` and `}}` stand for literal
braces. Anything else with a brace is malformed, and the validator names it, so an admin sees
`{customer name}` rejected on save instead of an agent seeing it in a reply.
"""

import re
from collections.abc import Mapping
from dataclasses import dataclass

from django.core.exceptions import ValidationError

PLACEHOLDER_NAME = re.compile(r"[a-z_][a-z0-9_]*")
# One token at a time: an escaped brace, a well-formed placeholder, or a lone brace.
_TOKEN = re.compile(r"\{\{|\}\}|\{([^{}]*)\}|[{}]")


def _marker(name: str) -> str:
    """How an unfilled placeholder appears in rendered text: visible, and easy to spot."""
    return f"[[{name}]]"


@dataclass(frozen=True)
class Rendered:
    text: str
    # Placeholder names left unfilled, in order of first appearance.
    unfilled: tuple[str, ...]
    # Placeholder names filled with a value, in order of first appearance.
    filled: tuple[str, ...] = ()


def placeholder_errors(body: str) -> list[str]:
    """Every syntax problem in `body`, each naming the offending text."""
    errors = []
    for match in _TOKEN.finditer(body):
        token = match.group(0)
        if token in ("{{", "}}"):
            continue
        if token in ("{", "}"):
            errors.append(f"unbalanced '{token}' at position {match.start()}")
        elif not PLACEHOLDER_NAME.fullmatch(match.group(1)):
            errors.append(
                f"malformed placeholder '{token}': use lower-case letters, digits and "
                "underscores, like {customer_name}"
            )
    return errors


def validate_placeholders(body: str) -> None:
    """Django field validator: raises ValidationError naming each malformed placeholder."""
    errors = placeholder_errors(body)
    if errors:
        raise ValidationError(errors)


def placeholder_names(body: str) -> list[str]:
    """The distinct placeholder names in `body`, in order of first appearance."""
    names: dict[str, None] = {}
    for match in _TOKEN.finditer(body):
        if match.group(1) is not None and PLACEHOLDER_NAME.fullmatch(match.group(1)):
            names.setdefault(match.group(1), None)
    return list(names)


def render(body: str, values: Mapping[str, str]) -> Rendered:
    """Fill the placeholders whose value is known and non-empty; mark the rest visibly.

    Never raises: a body that somehow holds malformed syntax is rendered with that text as is.
    """
    unfilled: dict[str, None] = {}
    filled: dict[str, None] = {}

    def substitute(match: re.Match[str]) -> str:
        token = match.group(0)
        if token == "{{":
            return "{"
        if token == "}}":
            return "}"
        name = match.group(1)
        if name is None or not PLACEHOLDER_NAME.fullmatch(name):
            return token
        value = values.get(name)
        if value:
            filled.setdefault(name, None)
            return value
        unfilled.setdefault(name, None)
        return _marker(name)

    text = _TOKEN.sub(substitute, body)
    return Rendered(text=text, unfilled=tuple(unfilled), filled=tuple(filled))
