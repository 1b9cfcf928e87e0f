"""Number formats for the review pages (a missing value shows as a dash), and the labels rule."""

from django import template

from assist.labels import counts_as_sent
from assist.models import Message

register = template.Library()


@register.filter
def percent(value: float | None, digits: int = 1) -> str:
    return "—" if value is None else f"{value * 100:.{digits}f}%"


@register.filter
def seconds(milliseconds: float | None) -> str:
    return "—" if milliseconds is None else f"{milliseconds / 1000:.1f} s"


@register.filter
def sent_template(message: Message) -> bool:
    """Whether the reply counts as sending its template (assist/labels.py's rule)."""
    return counts_as_sent(message.template_id, message.edit_similarity)
