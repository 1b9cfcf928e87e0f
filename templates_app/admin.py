"""The catalog admin: search, filters, bulk (de)activation, CSV import/export, revisions.

Writes go through templates_app.services so that every path (admin, importer, API) keeps
the revision history the same way.
"""

from typing import Any, cast

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.views.main import ORDER_VAR
from django.contrib.auth.models import User
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404, render
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html
from django.views.decorators.http import require_POST

from templates_app.catalog_csv import catalog_csv_text, parse_catalog_bytes
from templates_app.import_errors import ImportRejected
from templates_app.models import (
    ResponseTemplate,
    TemplateRevision,
    TemplateVariant,
    VariantRevision,
)
from templates_app.search import SearchQueryInvalid, template_search
from templates_app.services import (
    CONTENT_FIELDS,
    catalog_import,
    template_create,
    template_restore_revision,
    template_update,
    templates_set_active,
)
from templates_app.variants import missing_locales, variant_delete, variant_save

MAX_UPLOAD_BYTES = 5 * 1024 * 1024
# Ranked results of an admin search (the panel shows 10); more are rarely worth reading.
ADMIN_SEARCH_LIMIT = 500


def _editor(request: HttpRequest) -> User:
    """The signed-in user: the admin site lets only active staff reach its views."""
    return cast(User, request.user)


def csv_response(text: str, stem: str) -> HttpResponse:
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S")
    response = HttpResponse(text, content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{stem}-{stamp}.csv"'
    return response


class CatalogUploadForm(forms.Form):
    file = forms.FileField(help_text="CSV with columns key,title,body,category (UTF-8).")


class RevisionInline(admin.TabularInline):
    model = TemplateRevision
    fields = ("revision_link", "changed_at", "changed_by", "note", "title", "is_active")
    readonly_fields = fields
    extra = 0
    can_delete = False
    show_change_link = False
    ordering = ("-number",)

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="revision")
    def revision_link(self, revision: TemplateRevision) -> str:
        url = reverse("admin:templates_app_templaterevision_change", args=[revision.pk])
        return format_html('<a href="{}">r{}</a>', url, revision.number)


class VariantFormSet(forms.BaseInlineFormSet):
    def clean(self) -> None:
        super().clean()
        own = self.instance.locale
        for form in self.forms:
            data = getattr(form, "cleaned_data", None) or {}
            if data.get("locale") == own and not data.get("DELETE"):
                form.add_error(
                    "locale", f"{own} is the template's own locale: edit its title and body."
                )


class VariantInline(admin.TabularInline):
    """The key's texts in other locales, side by side; saved through templates_app.variants
    (ResponseTemplateAdmin.save_formset), which keeps their revisions."""

    model = TemplateVariant
    formset = VariantFormSet
    fields = ("locale", "title", "body", "updated_at", "updated_by")
    readonly_fields = ("updated_at", "updated_by")
    extra = 0
    verbose_name = "text in another locale"
    verbose_name_plural = "texts in other locales"


@admin.register(ResponseTemplate)
class ResponseTemplateAdmin(admin.ModelAdmin):
    list_display = ("key", "title", "category", "locale", "is_active", "updated_at", "updated_by")
    list_filter = ("is_active", "category", "locale")
    # Shows the search box; the search itself is templates_app.search (get_search_results).
    search_fields = ("key", "title", "body")
    search_help_text = "Words of the title, key or body; best matches first, typos forgiven."
    readonly_fields = ("locales", "created_at", "updated_at", "updated_by")
    fields = ("key", "title", "body", "category", "locale", "is_active", *readonly_fields)
    actions = ("activate", "deactivate", "export_selected")
    inlines = (VariantInline, RevisionInline)
    change_list_template = "admin/templates_app/responsetemplate/change_list.html"
    list_per_page = 100

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        # The key is the template's identity in the ranker's label list and in the logs.
        if obj is not None:
            return ("key", *self.readonly_fields)
        return self.readonly_fields

    def save_model(self, request: HttpRequest, obj: Any, form: Any, change: bool) -> None:
        content = {field: form.cleaned_data[field] for field in CONTENT_FIELDS}
        if change:
            saved = template_update(template=obj, user=_editor(request), **content)
        else:
            saved = template_create(key=form.cleaned_data["key"], user=_editor(request), **content)
        obj.pk = saved.pk

    def get_search_results(
        self, request: HttpRequest, queryset: QuerySet[ResponseTemplate], search_term: str
    ) -> tuple[QuerySet[ResponseTemplate], bool]:
        """The panel's search over the filtered list, inactive templates included, best first
        unless a column header asks for another order."""
        if not search_term.strip():
            return queryset, False
        try:
            found = template_search(
                query=search_term, active_only=False, templates=queryset, limit=ADMIN_SEARCH_LIMIT
            )
        except SearchQueryInvalid as invalid:
            self.message_user(request, str(invalid), messages.ERROR)
            return queryset.none(), False
        if ORDER_VAR in request.GET:
            found = found.order_by(*queryset.query.order_by)
        return found, False

    def save_formset(self, request: HttpRequest, form: Any, formset: Any, change: bool) -> None:
        if formset.model is not TemplateVariant:
            super().save_formset(request, form, formset, change)
            return
        template = form.instance
        formset.save(commit=False)
        for variant in formset.deleted_objects:
            variant_delete(variant=variant, user=_editor(request))
        changed = [variant for variant, _ in formset.changed_objects]
        for variant, fields in formset.changed_objects:
            if "locale" in fields:  # moved to another locale: the old one goes
                old = TemplateVariant.objects.get(pk=variant.pk)
                variant_delete(variant=old, user=_editor(request))
        for variant in [*formset.new_objects, *changed]:
            variant_save(
                template=template,
                locale=variant.locale,
                title=variant.title,
                body=variant.body,
                user=_editor(request),
            )

    @admin.display(description="locales")
    def locales(self, template: ResponseTemplate) -> str:
        """The key's locales, and those of TEMPLATE_LOCALES it has no text in."""
        if template.pk is None:
            return "-"
        have = sorted(template.variants.values_list("locale", flat=True))
        missing = missing_locales(template, set(have))
        text = ", ".join([f"{template.locale} (own text)", *have])
        if not missing:
            return text
        return format_html(
            '{} <strong class="errornote">missing: {}</strong>', text, ", ".join(missing)
        )

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # Deleting would orphan the logs and the ranker's labels; deactivate instead.
        return False

    @admin.action(description="Activate selected templates", permissions=["change"])
    def activate(self, request: HttpRequest, queryset: QuerySet[ResponseTemplate]) -> None:
        changed = templates_set_active(templates=queryset, is_active=True, user=_editor(request))
        self.message_user(request, f"Activated {changed} template(s).", messages.SUCCESS)

    @admin.action(description="Deactivate selected templates", permissions=["change"])
    def deactivate(self, request: HttpRequest, queryset: QuerySet[ResponseTemplate]) -> None:
        changed = templates_set_active(templates=queryset, is_active=False, user=_editor(request))
        self.message_user(request, f"Deactivated {changed} template(s).", messages.SUCCESS)

    @admin.action(description="Export selected templates as CSV", permissions=["view"])
    def export_selected(
        self, request: HttpRequest, queryset: QuerySet[ResponseTemplate]
    ) -> HttpResponse:
        templates = queryset.order_by("key").prefetch_related("variants")
        return csv_response(catalog_csv_text(templates, variants=True), "catalog")

    def get_urls(self) -> list[URLPattern]:
        extra = [
            path(
                "import-csv/",
                self.admin_site.admin_view(self.import_csv_view),
                name="templates_app_responsetemplate_import",
            ),
            path(
                "export-csv/",
                self.admin_site.admin_view(self.export_csv_view),
                name="templates_app_responsetemplate_export",
            ),
            path(
                "revision/<int:revision_id>/restore/",
                self.admin_site.admin_view(require_POST(self.restore_view)),
                name="templates_app_responsetemplate_restore",
            ),
        ]
        return extra + super().get_urls()

    def export_csv_view(self, request: HttpRequest) -> HttpResponse:
        if not self.has_view_permission(request):
            raise PermissionDenied
        templates = ResponseTemplate.objects.order_by("key").prefetch_related("variants")
        return csv_response(catalog_csv_text(templates, variants=True), "catalog")

    def import_csv_view(self, request: HttpRequest) -> HttpResponse:
        if not (self.has_add_permission(request) and self.has_change_permission(request)):
            raise PermissionDenied
        form = CatalogUploadForm(request.POST or None, request.FILES or None)
        if request.method == "POST" and form.is_valid():
            upload = form.cleaned_data["file"]
            if upload.size > MAX_UPLOAD_BYTES:
                form.add_error("file", f"The file is larger than {MAX_UPLOAD_BYTES} bytes.")
            else:
                try:
                    rows = parse_catalog_bytes(upload.read())
                    summary = catalog_import(rows=rows, user=_editor(request))
                except ImportRejected as rejected:
                    for error in rejected.errors:
                        form.add_error("file", str(error))
                    form.add_error("file", "Nothing was imported.")
                else:
                    self.message_user(
                        request,
                        f"Imported: {summary.created} created, {summary.updated} updated, "
                        f"{summary.unchanged} unchanged.",
                        messages.SUCCESS,
                    )
                    return HttpResponseRedirect(
                        reverse("admin:templates_app_responsetemplate_changelist")
                    )
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "form": form,
            "title": "Import catalog CSV",
        }
        return render(request, "admin/templates_app/responsetemplate/import_csv.html", context)

    def restore_view(self, request: HttpRequest, revision_id: int) -> HttpResponse:
        revision = get_object_or_404(TemplateRevision, pk=revision_id)
        if not self.has_change_permission(request, revision.template):
            raise PermissionDenied
        template = template_restore_revision(revision=revision, user=_editor(request))
        self.message_user(
            request, f"Restored revision {revision.number} of {template.key}.", messages.SUCCESS
        )
        return HttpResponseRedirect(
            reverse("admin:templates_app_responsetemplate_change", args=[template.pk])
        )


@admin.register(TemplateRevision)
class TemplateRevisionAdmin(admin.ModelAdmin):
    """Read-only history; the change page offers "restore" to those who may edit templates."""

    list_display = ("template", "number", "changed_at", "changed_by", "note")
    list_filter = ("changed_at",)
    search_fields = ("template__key", "title", "body")
    readonly_fields = (
        "template",
        "number",
        "title",
        "body",
        "category",
        "locale",
        "is_active",
        "changed_at",
        "changed_by",
        "note",
    )
    change_form_template = "admin/templates_app/templaterevision/change_form.html"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_view_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return request.user.has_perm("templates_app.view_responsetemplate")

    def render_change_form(
        self, request: HttpRequest, context: dict[str, Any], *args: Any, **kwargs: Any
    ) -> HttpResponse:
        revision = context.get("original")
        context["can_restore"] = revision is not None and request.user.has_perm(
            "templates_app.change_responsetemplate"
        )
        return super().render_change_form(request, context, *args, **kwargs)


@admin.register(VariantRevision)
class VariantRevisionAdmin(admin.ModelAdmin):
    """Read-only history of the keys' texts in other locales (a removal is its last entry)."""

    list_display = ("template", "locale", "number", "deleted", "changed_at", "changed_by", "note")
    list_filter = ("locale", "deleted", "changed_at")
    search_fields = ("template__key", "title", "body")
    readonly_fields = (
        "template",
        "locale",
        "number",
        "title",
        "body",
        "deleted",
        "changed_at",
        "changed_by",
        "note",
    )

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False
