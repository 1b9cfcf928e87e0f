"""The response-template catalog. Writes go through templates_app.services."""

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import models
from django.db.models import Q
from django.db.models.functions import Length

from templates_app.placeholders import validate_placeholders

models.CharField.register_lookup(Length)

# Keys are what the ranker's label list, the logs and integrations refer to. Real catalogs use
# keys like `Banks:CONFIRM(amount)+OFFER(balance)` or `card_arrival?`, so any printable ASCII
# is allowed, but no whitespace, which would not survive copy-paste and CSV round trips.
KEY_PATTERN = r"^[!-~]+$"
validate_key = RegexValidator(KEY_PATTERN, "Use printable ASCII characters without spaces.")


class ResponseTemplate(models.Model):
    key = models.CharField(max_length=255, unique=True, validators=[validate_key])
    title = models.CharField(max_length=255)
    body = models.TextField(validators=[validate_placeholders])
    category = models.CharField(max_length=64, blank=True, db_index=True)
    locale = models.CharField(max_length=16, default="en")
    is_active = models.BooleanField(default=True, db_index=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["category", "key"]
        constraints = [
            models.CheckConstraint(condition=Q(key__regex=KEY_PATTERN), name="template_key_format"),
            models.CheckConstraint(condition=Q(title__length__gt=0), name="template_title_set"),
            models.CheckConstraint(condition=~Q(body=""), name="template_body_set"),
        ]

    def __str__(self) -> str:
        return f"{self.key}: {self.title}"


class TemplateRevision(models.Model):
    """A snapshot of a template's content: one per saved version, the first at creation."""

    template = models.ForeignKey(
        ResponseTemplate, on_delete=models.CASCADE, related_name="revisions"
    )
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=255)
    body = models.TextField()
    category = models.CharField(max_length=64, blank=True)
    locale = models.CharField(max_length=16)
    is_active = models.BooleanField()
    changed_at = models.DateTimeField(auto_now_add=True)
    changed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(fields=["template", "number"], name="one_revision_number"),
            models.CheckConstraint(condition=Q(number__gte=1), name="revision_number_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.template.key} r{self.number}"


class CatalogVersion(models.Model):
    """One row whose `version` the database itself bumps on every write to ResponseTemplate.

    Workers keep the active catalog in memory and check this number in a query they make
    anyway (assist.live.suggestions); a trigger (migration 0002), not the application,
    bumps it, so that no write path (admin, importer, `queryset.update()` in a shell) can
    change the catalog without the workers seeing it on their next ranking.
    """

    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"catalog version {self.version}"
