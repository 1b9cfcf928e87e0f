"""Django admin for experiments: supervisors (migration 0005) and superusers edit them."""

from django.contrib import admin
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from assist.models import Experiment, ExperimentArm


class ExperimentArmInline(admin.TabularInline):
    model = ExperimentArm
    extra = 2
    fields = ("name", "model_version", "weight")


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = ("name", "is_active", "started_at", "ended_at", "arm_count")
    list_filter = ("is_active",)
    search_fields = ("name",)
    fields = ("name", "salt", "is_active", "started_at", "ended_at", "notes")
    inlines = [ExperimentArmInline]
    actions = ["stop"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Experiment]:
        return super().get_queryset(request).annotate(n_arms=Count("arms"))

    @admin.display(description="arms", ordering="n_arms")
    def arm_count(self, experiment: Experiment) -> int:
        return experiment.n_arms  # type: ignore[attr-defined]

    def save_model(self, request: HttpRequest, obj: Experiment, form: object, change: bool) -> None:
        # Started when first made active, so the experiment page has a date to start from.
        if obj.is_active and obj.started_at is None:
            obj.started_at = timezone.now()
        super().save_model(request, obj, form, change)

    @admin.action(description="Stop the selected experiments (assigned arms stay)")
    def stop(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        queryset.filter(is_active=True).update(is_active=False, ended_at=timezone.now())
