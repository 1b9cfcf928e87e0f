"""Online metrics for supervisors: aggregate queries only, one per table and grouping.

Definitions (README, "Supervisor review and experiments"):

- A *suggestion list* is one stored Suggestion row: every one was pushed to the agent's panel.
  It counts in the period its `created_at` falls in.
- *Acceptance rate*: lists from which the agent inserted or sent a template (`used`, set when
  the pick is stored) / lists shown.
- A *templated reply* is an agent message that sent a catalog template by assist/labels.py's
  rule (edited or not, as long as it kept enough of it); it counts in the period its
  `sent_at` falls in. When it was stored, the service fixed the list it was picked from
  (`shown_suggestion`; for a search pick or an older client, the conversation's latest), the
  template's position in it (`shown_rank`) and the *template selection time*
  (`selection_ms`: from the latest customer message before the reply to the reply).
  *Edited*: templated replies that kept less than all of the template; *rewritten*: replies
  that started from a template but fell below the rule, counted as written by the agent.
- *Rejections*: "not this one" on one suggestion (Pick action `rejected`), per agent and per
  template; *dismissals*: a whole list dismissed.
- *Online top-1 / top-K hit rate*: templated replies whose template was 1st / anywhere in the
  shown list, over templated replies that had a list on screen.
- *Adoption* of an agent: templates they took from the suggestion list / all templates they
  took (from the list or by searching the catalog).
- *Selection time with suggestions*: over templated replies with a list on screen; *without*:
  over those with none (a control arm, no model, or no list yet).

The dashboard reads each table once per grouping: lists by (day, model version), replies by
(day, model version of the list shown, list or not), both from covering indexes, and folds
those few hundred aggregated rows into the totals, the daily series and the per-version table.
"""

import datetime as dt
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db.models import (
    Avg,
    BooleanField,
    Count,
    Exists,
    ExpressionWrapper,
    OuterRef,
    Q,
    QuerySet,
    Sum,
)
from django.db.models.functions import TruncDate

from assist.labels import rewritten_q, sent_template_q
from assist.models import Experiment, Message, ModelVersion, Pick, Suggestion
from templates_app.models import ResponseTemplate

USED = [Pick.Action.INSERTED, Pick.Action.SENT]
HAD_LIST = Q(shown_suggestion__isnull=False)
NO_LIST = Q(shown_suggestion__isnull=True)


@dataclass(frozen=True)
class Period:
    """[start, end): either end may be open."""

    start: dt.datetime | None = None
    end: dt.datetime | None = None

    def q(self, field: str) -> Q:
        condition = Q()
        if self.start is not None:
            condition &= Q(**{f"{field}__gte": self.start})
        if self.end is not None:
            condition &= Q(**{f"{field}__lt": self.end})
        return condition


def suggestion_lists(period: Period) -> QuerySet[Suggestion]:
    return Suggestion.objects.filter(period.q("created_at"))


def templated_replies(period: Period) -> QuerySet[Message]:
    """Agent replies that sent a template, by the one rule (assist/labels.py)."""
    return Message.objects.filter(period.q("sent_at"), sent_template_q())


def _list_counts() -> dict[str, Any]:
    return {"lists": Count("pk"), "picked_lists": Count("pk", filter=Q(used=True))}


def _reply_counts() -> dict[str, Any]:
    counts: dict[str, Any] = {
        "replies": Count("pk"),
        "with_list": Count("pk", filter=HAD_LIST),
        "top1": Count("pk", filter=Q(shown_rank=1)),
        "topk": Count("pk", filter=Q(shown_rank__isnull=False)),
        "selection_with_ms": Avg("selection_ms", filter=HAD_LIST),
        "selection_without_ms": Avg("selection_ms", filter=NO_LIST),
        "n_with": Count("selection_ms", filter=HAD_LIST),
        "n_without": Count("selection_ms", filter=NO_LIST),
    }
    return counts


def _rate(numerator: int | None, denominator: int | None) -> float | None:
    return (numerator or 0) / denominator if denominator else None


def _with_rates(row: dict[str, Any]) -> dict[str, Any]:
    """Adds acceptance and hit rates to a row of counts, where its counts are there."""
    if "lists" in row:
        row["acceptance"] = _rate(row["picked_lists"], row["lists"])
    if "replies" in row:
        row["top1_rate"] = _rate(row["top1"], row["with_list"])
        row["topk_rate"] = _rate(row["topk"], row["with_list"])
    return row


def _rows(values: QuerySet[Any, Any]) -> list[dict[str, Any]]:
    """The rows of a values() query: plain dicts, which the rates are added to. (The stubs
    type them as TypedDicts, which take no keys beyond the query's.)"""
    return list(values)


def _daily_lists(period: Period) -> list[dict[str, Any]]:
    """Suggestion lists counted per (day, model version): one grouped query, read from the
    covering index, that the overview, the daily series and the per-version table share."""
    return _rows(
        suggestion_lists(period)
        .annotate(day=TruncDate("created_at"))
        .values("day", "model_version_id")
        .annotate(**_list_counts())
        .order_by()
    )


def _daily_replies(period: Period) -> list[dict[str, Any]]:
    """Templated replies counted per (day, model version of the list shown, list or not)."""
    return _rows(
        templated_replies(period)
        .annotate(
            day=TruncDate("sent_at"),
            had_list=ExpressionWrapper(HAD_LIST, output_field=BooleanField()),
        )
        .values("day", "shown_model_version_id", "had_list")
        .annotate(
            replies=Count("pk"),
            top1=Count("pk", filter=Q(shown_rank=1)),
            topk=Count("pk", filter=Q(shown_rank__isnull=False)),
            selection_sum=Sum("selection_ms"),
            selection_n=Count("selection_ms"),
        )
        .order_by()
    )


def _fold(
    lists: list[dict[str, Any]], replies: list[dict[str, Any]], key: str | None
) -> dict[Any, dict[str, Any]]:
    """Sums the grouped counts by `key` (None: one total), the same way for every view.

    A loop over at most days x versions aggregated rows, never over the data.
    """
    totals: dict[Any, dict[str, Any]] = {}

    def bucket(row: dict[str, Any], field: str | None) -> dict[str, Any]:
        empty = dict.fromkeys(
            ("lists", "picked_lists", "replies", "with_list", "top1", "topk"), 0
        ) | dict.fromkeys(("sum_with", "n_with", "sum_without", "n_without"), 0)
        return totals.setdefault(row[field] if field else None, empty)

    if key is None:
        bucket({}, None)  # the grand total exists even with no rows
    for row in lists:
        total = bucket(row, key and ("model_version_id" if key == "version" else key))
        total["lists"] += row["lists"]
        total["picked_lists"] += row["picked_lists"]
    for row in replies:
        total = bucket(row, key and ("shown_model_version_id" if key == "version" else key))
        total["replies"] += row["replies"]
        side = "with" if row["had_list"] else "without"
        if row["had_list"]:
            total["with_list"] += row["replies"]
            total["top1"] += row["top1"]
            total["topk"] += row["topk"]
        total[f"sum_{side}"] += row["selection_sum"] or 0
        total[f"n_{side}"] += row["selection_n"]
    for total in totals.values():
        total["selection_with_ms"] = _mean(total["sum_with"], total["n_with"])
        total["selection_without_ms"] = _mean(total["sum_without"], total["n_without"])
        _with_rates(total)
    return totals


def _mean(total: float, n: int) -> float | None:
    return total / n if n else None


def dashboard(period: Period) -> dict[str, Any]:
    """Everything the metrics page shows, each grouped query run once."""
    lists, replies, picks = _daily_lists(period), _daily_replies(period), _agent_picks(period)
    return {
        "overview": _overview(period, lists, replies, picks),
        "daily": _daily(lists, replies),
        "versions": _per_model_version(lists, replies),
        "templates": per_template(period),
        "agents": _per_agent(picks),
        "never_used": never_used_templates(period),
    }


def overview(period: Period) -> dict[str, Any]:
    """The headline numbers."""
    return _overview(period, _daily_lists(period), _daily_replies(period), _agent_picks(period))


def _overview(
    period: Period,
    lists: list[dict[str, Any]],
    replies: list[dict[str, Any]],
    picks: list[dict[str, Any]],
) -> dict[str, Any]:
    totals = _fold(lists, replies, None)[None]
    free_text = Message.objects.filter(
        Q(template__isnull=True) | rewritten_q(), period.q("sent_at"), role=Message.Role.AGENT
    ).count()
    edits = Message.objects.filter(period.q("sent_at"), template__isnull=False).aggregate(
        edited_replies=Count("pk", filter=sent_template_q() & Q(edit_similarity__lt=1)),
        rewritten_replies=Count("pk", filter=rewritten_q()),
        mean_edit_similarity=Avg("edit_similarity", filter=sent_template_q()),
    )
    return {**totals, **_pick_totals(picks), "free_text_replies": free_text, **edits}


def per_template(period: Period) -> list[dict[str, Any]]:
    """Usage and hit rate of every template sent in the period, most used first."""
    rows = _rows(
        templated_replies(period).values("template_id").annotate(**_reply_counts()).order_by()
    )
    # Grouped by id alone, then named: joining the catalog before grouping cost a scan more.
    names = ResponseTemplate.objects.in_bulk([row["template_id"] for row in rows])
    for row in rows:
        row["template__key"] = names[row["template_id"]].key
        row["template__title"] = names[row["template_id"]].title
    rejections = dict(
        Pick.objects.filter(period.q("picked_at"), action=Pick.Action.REJECTED)
        .values("template_id")
        .annotate(n=Count("pk"))
        .order_by()
        .values_list("template_id", "n")
    )
    for row in rows:
        row["rejections"] = rejections.get(row["template_id"], 0)
    rows.sort(key=lambda row: (-row["replies"], row["template__key"]))
    return [_with_rates(row) for row in rows]


def never_used_templates(period: Period) -> QuerySet[ResponseTemplate]:
    """Active templates no agent sent in the period: the catalog clean-up list."""
    sent = Message.objects.filter(period.q("sent_at"), sent_template_q(), template=OuterRef("pk"))
    return (
        ResponseTemplate.objects.filter(is_active=True)
        .exclude(Exists(sent))
        .only("key", "title", "category")
        .order_by("category", "key")
    )


def _agent_picks(period: Period) -> list[dict[str, Any]]:
    """Picks counted per agent: one grouped query that the overview's pick totals share."""
    used_from_list = Q(suggestion__isnull=False, action__in=USED)
    return _rows(
        Pick.objects.filter(period.q("picked_at"))
        .values("agent_id")
        .annotate(
            from_list=Count("pk", filter=used_from_list),
            from_search=Count("pk", filter=Q(suggestion__isnull=True, action__in=USED)),
            dismissals=Count("pk", filter=Q(action=Pick.Action.DISMISSED)),
            rejections=Count("pk", filter=Q(action=Pick.Action.REJECTED)),
            time_to_pick_sum=Sum("time_to_pick_ms", filter=used_from_list),
            time_to_pick_n=Count("time_to_pick_ms", filter=used_from_list),
        )
        .order_by()
    )


def per_agent(period: Period) -> list[dict[str, Any]]:
    """Adoption per agent, from the picks table alone (it names the agent): templates taken
    from the suggestion list versus found by search, dismissals, and time-to-pick."""
    return _per_agent(_agent_picks(period))


def _per_agent(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    names = dict(
        get_user_model()
        .objects.filter(pk__in=[row["agent_id"] for row in rows if row["agent_id"]])
        .values_list("pk", "username")
    )
    agents = [
        row
        | {
            "agent": names.get(row["agent_id"]),
            "adoption": _rate(row["from_list"], row["from_list"] + row["from_search"]),
            "time_to_pick_ms": _mean(row["time_to_pick_sum"] or 0, row["time_to_pick_n"]),
        }
        for row in rows
    ]
    return sorted(agents, key=lambda row: (-row["from_list"], row["agent"] or ""))


def _pick_totals(rows: list[dict[str, Any]]) -> dict[str, Any]:
    total = {
        name: sum(row[name] or 0 for row in rows)
        for name in ("from_list", "from_search", "dismissals", "rejections", "time_to_pick_sum")
    }
    total["time_to_pick_ms"] = _mean(
        total.pop("time_to_pick_sum"), sum(row["time_to_pick_n"] for row in rows)
    )
    return total


def per_model_version(period: Period) -> list[dict[str, Any]]:
    """Acceptance, hit rates and selection time per model version that ranked in the period."""
    return _per_model_version(_daily_lists(period), _daily_replies(period))


def _per_model_version(
    lists: list[dict[str, Any]], replies: list[dict[str, Any]]
) -> list[dict[str, Any]]:
    with_list = [row for row in replies if row["had_list"]]
    totals = _fold(lists, with_list, "version")
    names = dict(ModelVersion.objects.filter(pk__in=list(totals)).values_list("pk", "name"))
    rows = [{"model_version": names.get(pk), **row} for pk, row in totals.items()]
    return sorted(rows, key=lambda row: row["model_version"] or "")


def daily(period: Period) -> list[dict[str, Any]]:
    """Per day: acceptance rate and mean selection time with and without a list."""
    return _daily(_daily_lists(period), _daily_replies(period))


def _daily(lists: list[dict[str, Any]], replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    totals = _fold(lists, replies, "day")
    return [{"day": day, **totals[day]} for day in sorted(totals)]


def arm_conversation_outcomes(experiment: Experiment, period: Period) -> list[dict[str, Any]]:
    """Per conversation of `experiment` (the unit of randomisation), its arm and its counts:
    templated replies, those with a list, top-1 and top-K hits, the sum and number of selection
    times, lists shown and lists used. Two grouped queries (replies and lists by conversation),
    merged here; a conversation with neither in the period is absent."""
    arm_field = "conversation__experiment_arm"
    in_experiment = Q(conversation__experiment_arm__experiment=experiment)
    rows: dict[int, dict[str, Any]] = {}
    empty = dict.fromkeys(
        ("replies", "with_list", "top1", "topk", "selection_sum", "n_selection", "lists"), 0
    ) | {"picked_lists": 0}
    for row in (
        templated_replies(period)
        .filter(in_experiment)
        .values("conversation_id", arm_field)
        .annotate(
            replies=Count("pk"),
            with_list=Count("pk", filter=HAD_LIST),
            top1=Count("pk", filter=Q(shown_rank=1)),
            topk=Count("pk", filter=Q(shown_rank__isnull=False)),
            selection_sum=Sum("selection_ms"),
            n_selection=Count("selection_ms"),
        )
        .order_by()
    ):
        target = rows.setdefault(row["conversation_id"], {"arm_id": row[arm_field]} | empty)
        target |= {key: row[key] or 0 for key in empty if key in row}
    for row in (
        suggestion_lists(period)
        .filter(in_experiment)
        .values("conversation_id", arm_field)
        .annotate(**_list_counts())
        .order_by()
    ):
        target = rows.setdefault(row["conversation_id"], {"arm_id": row[arm_field]} | empty)
        target |= {"lists": row["lists"], "picked_lists": row["picked_lists"]}
    return list(rows.values())
