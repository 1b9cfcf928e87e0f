"""Django admin: experiments (supervisors, migration 0005) and the model registry (catalog
admins, migration 0006; superusers both)."""

from typing import TYPE_CHECKING, TypedDict

from django.contrib import admin, messages
from django.contrib.auth.base_user import AbstractBaseUser
from django.db.models import Count, QuerySet
from django.http import HttpRequest
from django.utils import timezone

from assist.lifecycle.registry import (
    NothingToRollBackTo,
    model_version_activate,
    model_version_rollback,
)
from assist.models import Experiment, ExperimentArm, ModelVersion

if TYPE_CHECKING:
    from django_stubs_ext import WithAnnotations


class ArmCount(TypedDict):
    """What ExperimentAdmin.get_queryset adds to each experiment."""

    n_arms: int


class ExperimentArmInline(admin.TabularInline):
    model = ExperimentArm
    extra = 2
    fields = ("name", "model_version", "weight")


@admin.register(Experiment)
class ExperimentAdmin(admin.ModelAdmin):
    list_display = (
        "name",
        "is_active",
        "planned_conversations_per_arm",
        "started_at",
        "ended_at",
        "arm_count",
    )
    list_filter = ("is_active",)
    search_fields = ("name",)
    fields = (
        "name",
        "salt",
        "planned_conversations_per_arm",
        "is_active",
        "started_at",
        "ended_at",
        "notes",
    )
    inlines = [ExperimentArmInline]
    actions = ["stop"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[Experiment]:
        queryset: QuerySet[Experiment] = super().get_queryset(request)
        return queryset.annotate(n_arms=Count("arms"))

    @admin.display(description="arms", ordering="n_arms")
    def arm_count(self, experiment: "WithAnnotations[Experiment, ArmCount]") -> int:
        return int(experiment.n_arms)

    def save_model(self, request: HttpRequest, obj: Experiment, form: object, change: bool) -> None:
        # Started when first made active, so the experiment page has a date to start from.
        if obj.is_active and obj.started_at is None:
            obj.started_at = timezone.now()
        super().save_model(request, obj, form, change)

    @admin.action(description="Stop the selected experiments (assigned arms stay)")
    def stop(self, request: HttpRequest, queryset: QuerySet[Experiment]) -> None:
        queryset.filter(is_active=True).update(is_active=False, ended_at=timezone.now())


def _user(request: HttpRequest) -> AbstractBaseUser | None:
    return request.user if isinstance(request.user, AbstractBaseUser) else None


def _top1(metrics: dict | None) -> str:
    value = (metrics or {}).get("top1_all")
    return "-" if value is None else f"{value:.1%}"


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    """Trained rankers side by side on the same test turns; promote one, or roll back."""

    list_display = (
        "name",
        "is_active",
        "test_top1",
        "active_top1",
        "difference",
        "activated_at",
        "activated_by",
        "activated_how",
        "artifact_status",
        "created_at",
    )
    list_filter = ("is_active", "activated_how")
    search_fields = ("name", "notes")
    readonly_fields = (
        "name",
        "artifact",
        "sha256",
        "artifact_status",
        "path",
        "base_model",
        "is_active",
        "activated_at",
        "activated_by",
        "activated_how",
        "activation_history",
        "metrics",
    )
    fields = (*readonly_fields, "notes")
    actions = ["promote", "rollback"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False  # versions come from training (manage.py train_ranker), not from a form

    @admin.display(description="top-1 on the test split")
    def test_top1(self, version: ModelVersion) -> str:
        return _top1(version.metrics.get("test"))

    @admin.display(description="then-active version on the same test turns")
    def active_top1(self, version: ModelVersion) -> str:
        return _top1(version.metrics.get("active_on_same_test"))

    @admin.display(description="difference [95% interval over test conversations]")
    def difference(self, version: ModelVersion) -> str:
        comparison = version.metrics.get("comparison")
        if not comparison:
            return "-"
        verdict = "significant" if comparison["significant"] else "not significant"
        return (
            f"{comparison['difference'] * 100:+.1f} points "
            f"[{comparison['low'] * 100:+.1f}, {comparison['high'] * 100:+.1f}], {verdict} "
            f"({comparison['turns']} turns, {comparison['conversations']} conversations)"
        )

    @admin.action(
        description="Promote the selected version (make it the active one)",
        permissions=["change"],
    )
    def promote(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        if queryset.count() != 1:
            self.message_user(request, "Select exactly one version to promote.", messages.ERROR)
            return
        version = model_version_activate(version=queryset.get(), by=_user(request))
        self.message_user(request, f"{version.name} is now active.", messages.SUCCESS)

    @admin.display(description="artifact")
    def artifact_status(self, version: ModelVersion) -> str:
        """Whether every host that tried could fetch and verify it (serving/model_cache.py)."""
        if not version.artifact:
            return f"local directory {version.path}" if version.path else "-"
        if not version.artifact_errors:
            return "ok"
        return "; ".join(
            f"unavailable on {host} since {entry['at'][:19].replace('T', ' ')}: {entry['error']}"
            for host, entry in sorted(version.artifact_errors.items())
        )

    @admin.display(description="activations (newest last)")
    def activation_history(self, version: ModelVersion) -> str:
        return (
            "; ".join(
                f"{entry['at'][:19].replace('T', ' ')} {entry['how']} by "
                f"{entry['by'] or 'the system'}"
                + (f", replacing {entry['replaced']}" if entry.get("replaced") else "")
                for entry in version.activations
            )
            or "-"
        )

    @admin.action(
        description="Roll back to the selected version (one that was active before)",
        permissions=["change"],
    )
    def rollback(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        if queryset.count() != 1:
            self.message_user(
                request, "Select exactly one version to roll back to.", messages.ERROR
            )
            return
        try:
            version = model_version_rollback(to=queryset.get(), by=_user(request))
        except NothingToRollBackTo as error:
            self.message_user(request, str(error), messages.ERROR)
            return
        self.message_user(
            request, f"Rolled back: {version.name} is active again.", messages.SUCCESS
        )
