"""Supervisor review pages: adapters that check access, read through selectors and metrics,
and render. All are GET-only and read-only."""

import csv
import datetime as dt
from typing import Any

from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, StreamingHttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import timezone
from django.views.decorators.http import require_GET

from assist import access
from assist.models import Experiment
from assist.review import charts, metrics
from assist.review.reports import experiment_report
from assist.review.selectors import (
    ConversationFilter,
    conversation_timeline,
    export_rows,
    with_counts,
)
from templates_app.catalog_csv import spreadsheet_safe  # the one CSV-injection rule

PAGE_SIZE = 50
DEFAULT_DAYS = 30


def _filtered(request: HttpRequest) -> tuple[ConversationFilter, Any]:
    conversations = access.review_conversations(request.user)
    form = ConversationFilter(request.GET or None)
    if form.is_bound and form.is_valid():
        conversations = form.apply(conversations)
    elif form.is_bound:
        conversations = conversations.none()
    return form, conversations


@require_GET
@login_required
def conversation_list(request: HttpRequest) -> HttpResponse:
    form, conversations = _filtered(request)
    page = Paginator(with_counts(conversations).order_by("-started_at", "-id"), PAGE_SIZE)
    page_obj = page.get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "assist/review/list.html",
        {"form": form, "page": page_obj, "query": query.urlencode()},
    )


class _Echo:
    def write(self, value: str) -> str:
        return value


@require_GET
@login_required
def conversation_export(request: HttpRequest) -> StreamingHttpResponse:
    """The conversations the list's filters select, as CSV, streamed."""
    _, conversations = _filtered(request)
    writer = csv.writer(_Echo())
    response = StreamingHttpResponse(
        (
            writer.writerow([spreadsheet_safe(cell) for cell in row])
            for row in export_rows(conversations)
        ),
        content_type="text/csv; charset=utf-8",
    )
    response["Content-Disposition"] = 'attachment; filename="conversations.csv"'
    return response


@require_GET
@login_required
def conversation_detail(request: HttpRequest, conversation_id: int) -> HttpResponse:
    conversation = get_object_or_404(
        access.review_conversations(request.user).select_related(
            "assigned_agent", "experiment_arm__experiment"
        ),
        pk=conversation_id,
    )
    return render(
        request,
        "assist/review/conversation.html",
        {"conversation": conversation, "timeline": conversation_timeline(conversation)},
    )


def _period(request: HttpRequest) -> tuple[metrics.Period, dt.date | None, dt.date | None]:
    """From `from`/`to` dates (inclusive) in the query string; default: the last 30 days."""

    def day(name: str) -> dt.date | None:
        try:
            return dt.date.fromisoformat(request.GET.get(name, ""))
        except ValueError:
            return None

    start, end = day("from"), day("to")
    if "from" not in request.GET and "to" not in request.GET:
        start = timezone.now().date() - dt.timedelta(days=DEFAULT_DAYS - 1)
    return (
        metrics.Period(
            start=dt.datetime.combine(start, dt.time.min, tzinfo=dt.UTC) if start else None,
            end=(
                dt.datetime.combine(end, dt.time.min, tzinfo=dt.UTC) + dt.timedelta(days=1)
                if end
                else None
            ),
        ),
        start,
        end,
    )


def _percent(value: float) -> str:
    return f"{value:.0%}"


def _seconds(value: float) -> str:
    return f"{value / 1000:.1f} s"


@require_GET
@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    access.review_conversations(request.user)
    period, start, end = _period(request)
    data = metrics.dashboard(period)
    days = [d for d in data["daily"] if d.get("day")]
    day_labels = [d["day"].isoformat() for d in days]
    versions, agents = data["versions"], data["agents"]
    context = {
        **data,
        "start": start,
        "end": end,
        "charts": [
            charts.line_chart(
                day_labels,
                {
                    "with suggestions": [d["selection_with_ms"] for d in days],
                    "without": [d["selection_without_ms"] for d in days],
                },
                title="Mean template selection time per day",
                value_format=_seconds,
            ),
            charts.line_chart(
                day_labels,
                {"acceptance": [d["acceptance"] for d in days]},
                title="Acceptance rate per day",
                value_format=_percent,
            ),
            charts.bar_chart(
                [(v["model_version"] or "(none)", v.get("top1_rate")) for v in versions],
                title="Online top-1 hit rate per model version",
                value_format=_percent,
            ),
            charts.bar_chart(
                [(a["agent"] or "(unknown)", a["adoption"]) for a in agents[:20]],
                title="Adoption per agent: templates taken from the list (top 20)",
                value_format=_percent,
            ),
        ],
    }
    return render(request, "assist/review/dashboard.html", context)


@require_GET
@login_required
def experiment_list(request: HttpRequest) -> HttpResponse:
    access.review_conversations(request.user)
    experiments = Experiment.objects.prefetch_related("arms__model_version")
    return render(request, "assist/review/experiments.html", {"experiments": experiments})


@require_GET
@login_required
def experiment_detail(request: HttpRequest, experiment_id: int) -> HttpResponse:
    access.review_conversations(request.user)
    experiment = get_object_or_404(Experiment, pk=experiment_id)
    period, start, end = _period(request) if request.GET else (metrics.Period(), None, None)
    report = experiment_report(experiment, period)
    return render(
        request,
        "assist/review/experiment.html",
        {"experiment": experiment, "report": report, "start": start, "end": end},
    )
