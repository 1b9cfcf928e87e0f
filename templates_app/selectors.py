"""Reads of the catalog."""

from django.db.models import Q, QuerySet

from templates_app.models import ResponseTemplate


def template_search(
    *, query: str = "", category: str = "", active_only: bool = True
) -> QuerySet[ResponseTemplate]:
    """Templates matching every word of `query` in key, title or body."""
    templates = ResponseTemplate.objects.all()
    if active_only:
        templates = templates.filter(is_active=True)
    if category:
        templates = templates.filter(category=category)
    for word in query.split()[:10]:
        templates = templates.filter(
            Q(key__icontains=word) | Q(title__icontains=word) | Q(body__icontains=word)
        )
    return templates.order_by("category", "key")
