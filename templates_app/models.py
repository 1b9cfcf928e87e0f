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
# A locale as BCP 47 writes a language with an optional region: `es`, `de`, `pt-BR`.
LOCALE_PATTERN = r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})*$"
validate_locale = RegexValidator(LOCALE_PATTERN, "Use a language code such as es or pt-BR.")


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


class TemplateVariant(models.Model):
    """A template key's text in another locale.

    The key is what the ranker ranks; the variant is what an agent whose conversation is in
    `locale` gets. The template's own title and body are its text in its own `locale` (the
    deployment's DEFAULT_TEMPLATE_LOCALE unless set otherwise), so a key without variants
    serves as it always did. Writes go through templates_app.services, which keeps each
    variant's revisions (VariantRevision).
    """

    template = models.ForeignKey(
        ResponseTemplate, on_delete=models.CASCADE, related_name="variants"
    )
    locale = models.CharField(max_length=16, validators=[validate_locale])
    title = models.CharField(max_length=255)
    body = models.TextField(validators=[validate_placeholders])
    updated_at = models.DateTimeField(auto_now=True)
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )

    class Meta:
        ordering = ["template", "locale"]
        constraints = [
            models.UniqueConstraint(fields=["template", "locale"], name="one_variant_per_locale"),
            models.CheckConstraint(condition=Q(title__length__gt=0), name="variant_title_set"),
            models.CheckConstraint(condition=~Q(body=""), name="variant_body_set"),
        ]

    def __str__(self) -> str:
        return f"{self.template.key} [{self.locale}]"


class VariantRevision(models.Model):
    """A snapshot of a variant's text: one per saved version, the first at creation, and a
    last one (`deleted`) when the variant is removed, so that its history outlives it."""

    template = models.ForeignKey(
        ResponseTemplate, on_delete=models.CASCADE, related_name="variant_revisions"
    )
    locale = models.CharField(max_length=16)
    number = models.PositiveIntegerField()
    title = models.CharField(max_length=255)
    body = models.TextField()
    deleted = models.BooleanField(default=False)
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
        ordering = ["template", "locale", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "locale", "number"], name="one_variant_revision_number"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.template.key} [{self.locale}] r{self.number}"


class CatalogVersion(models.Model):
    """One row whose `version` the database itself bumps on every write to ResponseTemplate
    or TemplateVariant.

    Workers keep the active catalog in memory and check this number in a query they make
    anyway (assist.live.suggestions); a trigger (migrations 0002 and, for the variants, 0004),
    not the application, bumps it, so that no write path (admin, importer, `queryset.update()`
    in a shell) can change the catalog without the workers seeing it on their next ranking.
    """

    version = models.BigIntegerField(default=0)

    def __str__(self) -> str:
        return f"catalog version {self.version}"
