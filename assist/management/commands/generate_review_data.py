"""Synthetic review data at scale: conversations, messages, suggestion lists and picks.

    python manage.py generate_review_data --conversations 200000 --picks 1000000

For benchmarks and for trying the review pages, never for production. Every conversation is
in one (stopped) experiment with a `control` arm (2%, no suggestions) and two model-version
arms; each round is a customer message, a suggestion list (not in control), exactly one pick
(from the list, from search, or a dismissal) and the agent's reply. On PostgreSQL rows go in
with COPY, inside one transaction; elsewhere with bulk_create (small sizes only).
"""

import datetime as dt
import json
from collections.abc import Iterable, Sequence
from typing import Any

import numpy as np
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.core.management.base import BaseCommand, CommandParser
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone
from tqdm import tqdm

from assist.models import (
    Conversation,
    Experiment,
    ExperimentArm,
    Message,
    ModelVersion,
    Pick,
    Suggestion,
)
from assist.review.experiments import arm_for
from assist.roles import AGENT
from templates_app.models import ResponseTemplate

K = 5
CHUNK = 5000  # conversations per round of COPYs
RANK_WEIGHTS = {"v1": [0.62, 0.18, 0.1, 0.06, 0.04], "v2": [0.5, 0.22, 0.13, 0.09, 0.06]}
# Mean selection time in seconds: a pick from the list, a search, a control-arm search.
SELECTION_S = {"list": 11.0, "search": 19.0, "control": 19.0, "free": 30.0}
CUSTOMER_LINES = [
    "my card still hasn't arrived",
    "I was charged twice",
    "how do I change my PIN?",
    "the app keeps crashing when I log in",
    "why was my transfer declined?",
]

# The tables this command fills.
GeneratedModel = type[Conversation | Message | Suggestion | Pick]
COLUMNS: dict[GeneratedModel, list[str]] = {
    Conversation: [
        "id",
        "external_id",
        "channel",
        "assigned_agent_id",
        "customer_name",
        "status",
        "started_at",
        "ended_at",
        "experiment_arm_id",
        "created_at",
    ],
    Message: [
        "id",
        "conversation_id",
        "role",
        "text",
        "sent_at",
        "template_id",
        "client_id",
        "shown_suggestion_id",
        "shown_model_version_id",
        "shown_rank",
        "selection_ms",
        "created_at",
    ],
    Suggestion: [
        "id",
        "conversation_id",
        "message_id",
        "seq",
        "model_version_id",
        "items",
        "latency_ms",
        "used",
        "created_at",
    ],
    Pick: [
        "id",
        "conversation_id",
        "suggestion_id",
        "template_id",
        "rank",
        "action",
        "agent_id",
        "client_id",
        "picked_at",
        "time_to_pick_ms",
        "created_at",
    ],
}


class Command(BaseCommand):
    help = "Generate synthetic conversations, suggestion lists and picks for review benchmarks."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--conversations", type=int, default=2000)
        parser.add_argument("--picks", type=int, default=10000)
        parser.add_argument("--agents", type=int, default=50)
        parser.add_argument("--days", type=int, default=60, help="spread over the last N days")
        parser.add_argument("--seed", type=int, default=1)

    def handle(self, *args: Any, **options: Any) -> None:
        conversations, picks = options["conversations"], options["picks"]
        if conversations < 1 or picks < conversations:
            self.stderr.write("need at least one conversation and one pick per conversation")
            raise SystemExit(2)
        rng = np.random.default_rng(options["seed"])
        with transaction.atomic():
            world = _World.make(agents=options["agents"], seed=options["seed"])
            rounds = 1 + rng.multinomial(picks - conversations, [1 / conversations] * conversations)
            ids = _IdBlocks()
            now = timezone.now()
            written = dict.fromkeys(COLUMNS, 0)
            with tqdm(total=conversations, unit="conv", disable=options["verbosity"] < 1) as bar:
                for start in range(0, conversations, CHUNK):
                    batch = rounds[start : start + CHUNK]
                    tables = world.rows(rng, batch, ids, now=now, days=options["days"], first=start)
                    for model, rows in tables.items():
                        _write(model, rows)
                        written[model] += len(rows)
                    bar.update(len(batch))
            _reset_sequences()
        if connection.vendor == "postgresql" and not connection.in_atomic_block:
            # COPY leaves the visibility map empty; index-only scans need it (autovacuum would
            # get there later). Not possible inside a caller's transaction (tests).
            with connection.cursor() as cursor:
                for model in COLUMNS:
                    cursor.execute(f"VACUUM ANALYZE {model._meta.db_table}")
        if options["verbosity"] >= 1:
            self.stdout.write(
                ", ".join(f"{n} {model._meta.verbose_name_plural}" for model, n in written.items())
            )


class _IdBlocks:
    """Primary keys handed out after the largest existing one, so links are known up front."""

    def __init__(self) -> None:
        self.next = {
            model: (model.objects.aggregate(m=Max("pk"))["m"] or 0) + 1 for model in COLUMNS
        }

    def take(self, model: GeneratedModel, n: int) -> np.ndarray:
        first = self.next[model]
        self.next[model] += n
        return np.arange(first, first + n)


class _World:
    def __init__(
        self,
        agents: list[int],
        templates: list[tuple[int, str]],
        arms: list[ExperimentArm],
        salt: str,
    ) -> None:
        self.agents = np.array(agents)
        self.template_ids = np.array([pk for pk, _ in templates])
        self.template_keys = [key for _, key in templates]
        self.arms = arms
        self.salt = salt

    @classmethod
    def make(cls, *, agents: int, seed: int) -> "_World":
        group = Group.objects.get(name=AGENT)
        users = get_user_model()
        names = [f"gen_agent_{n:03d}" for n in range(agents)]
        users.objects.bulk_create(
            [users(username=name, password="!") for name in names], ignore_conflicts=True
        )
        agent_ids = list(users.objects.filter(username__in=names).values_list("pk", flat=True))
        group.user_set.add(*agent_ids)
        templates = list(
            ResponseTemplate.objects.filter(is_active=True).order_by("pk").values_list("pk", "key")
        )
        if len(templates) < 50:
            ResponseTemplate.objects.bulk_create(
                [
                    ResponseTemplate(
                        key=f"generated.t{n:03d}",
                        title=f"Generated {n}",
                        body="Hello.",
                        category="generated",
                    )
                    for n in range(200)
                ],
                ignore_conflicts=True,
            )
            templates = list(
                ResponseTemplate.objects.filter(is_active=True)
                .order_by("pk")
                .values_list("pk", "key")
            )
        versions = {
            name: ModelVersion.objects.get_or_create(
                name=f"generated-{name}", defaults={"path": "/nonexistent"}
            )[0]
            for name in ("v1", "v2")
        }
        experiment, _ = Experiment.objects.get_or_create(
            name=f"generated-{seed}", defaults={"started_at": timezone.now()}
        )
        arms = []
        for name, version, weight in (
            ("control", None, 2),
            ("v1", versions["v1"], 49),
            ("v2", versions["v2"], 49),
        ):
            arms.append(
                ExperimentArm.objects.get_or_create(
                    experiment=experiment,
                    name=name,
                    defaults={"model_version": version, "weight": weight},
                )[0]
            )
        return cls(agent_ids, templates, arms, experiment.salt or experiment.name)

    def rows(
        self,
        rng: np.random.Generator,
        rounds: np.ndarray,
        ids: _IdBlocks,
        *,
        now: dt.datetime,
        days: int,
        first: int,
    ) -> dict[GeneratedModel, list[Sequence[Any]]]:
        n_templates = len(self.template_ids)
        conversation_ids = ids.take(Conversation, len(rounds))
        out: dict[GeneratedModel, list[Sequence[Any]]] = {model: [] for model in COLUMNS}
        starts = rng.uniform(0, days * 86400, len(rounds))
        agents = rng.choice(self.agents, len(rounds))
        # Every random number the chunk needs, drawn at once: per-round numpy calls were the
        # bottleneck.
        total = int(rounds.sum())
        kinds = rng.random(total)
        rank_draws = rng.random(total)
        selection_z = rng.standard_normal(total)
        offsets = np.cumsum(rng.integers(1, max(2, n_templates // K), (total, K - 1)), axis=1)
        slots = rng.integers(n_templates, size=(total, 1)) + np.c_[np.zeros(total, int), offsets]
        slots %= n_templates
        probabilities = -np.sort(-rng.dirichlet(np.ones(K) * 0.6, total), axis=1)
        search_slots = rng.integers(n_templates, size=total)
        uniforms = rng.random((total, 4))
        cumulative = {name: np.cumsum(w) for name, w in RANK_WEIGHTS.items()}
        j = -1
        for index, (conversation_id, n_rounds) in enumerate(
            zip(conversation_ids, rounds, strict=True)
        ):
            external_id = f"gen-{int(conversation_id)}"
            arm = arm_for(self.arms, salt=self.salt, channel="chat", external_id=external_id)
            agent = int(agents[index])
            t = now - dt.timedelta(seconds=float(starts[index]))
            out[Conversation].append(
                [
                    int(conversation_id),
                    external_id,
                    "chat",
                    agent,
                    f"Customer {first + index}",
                    "closed",
                    t,
                    None,
                    arm.pk,
                    t,
                ]
            )
            message_ids = ids.take(Message, 2 * int(n_rounds))
            suggestion_ids = ids.take(Suggestion, int(n_rounds)) if not arm.is_control else None
            pick_ids = ids.take(Pick, int(n_rounds))
            for r in range(int(n_rounds)):
                j += 1
                u = uniforms[j]
                ask_id, reply_id = int(message_ids[2 * r]), int(message_ids[2 * r + 1])
                out[Message].append(
                    [
                        ask_id,
                        int(conversation_id),
                        "customer",
                        CUSTOMER_LINES[r % len(CUSTOMER_LINES)],
                        t,
                        None,
                        f"g{r}c",
                        None,
                        None,
                        None,
                        None,
                        t,
                    ]
                )
                pick_id = int(pick_ids[r])
                shown_id: int | None = None
                keys: list[str] = []
                if arm.is_control:
                    kind = "control"
                else:
                    shown_id = int(suggestion_ids[r])  # type: ignore[index]
                    kind = "list" if kinds[j] < 0.65 else "search" if kinds[j] < 0.85 else "free"
                    keys = [self.template_keys[s] for s in slots[j]]
                    items = [
                        {"key": key, "probability": round(float(p), 4), "confident": bool(p > 0.4)}
                        for key, p in zip(keys, probabilities[j], strict=True)
                    ]
                    created = t + dt.timedelta(milliseconds=30 + 90 * float(u[0]))
                    out[Suggestion].append(
                        [
                            shown_id,
                            int(conversation_id),
                            ask_id,
                            r + 1,
                            arm.model_version_id,
                            json.dumps(items),
                            20 + 70 * float(u[1]),
                            kind == "list",
                            created,
                        ]
                    )
                mean_s = SELECTION_S[kind] * (0.92 if arm.name == "v1" else 1.0)
                selection = float(np.exp(np.log(mean_s * 1000) + 0.45 * selection_z[j]))
                sent = t + dt.timedelta(milliseconds=selection)
                template_id: int | None = None
                rank: int | None = None
                if kind == "list":
                    rank = int(np.searchsorted(cumulative[arm.name], rank_draws[j])) + 1
                    rank = min(rank, K)
                    template_id = int(self.template_ids[slots[j][rank - 1]])
                    ttp = int(selection * (0.4 + 0.4 * float(u[2])))
                    out[Pick].append(
                        [
                            pick_id,
                            int(conversation_id),
                            shown_id,
                            template_id,
                            rank,
                            "inserted",
                            agent,
                            f"gen-{pick_id}",
                            t + dt.timedelta(milliseconds=ttp),
                            ttp,
                            sent,
                        ]
                    )
                elif kind in ("search", "control"):
                    template_id = int(self.template_ids[search_slots[j]])
                    key = self.template_keys[search_slots[j]]
                    rank = keys.index(key) + 1 if key in keys else None
                    out[Pick].append(
                        [
                            pick_id,
                            int(conversation_id),
                            None,
                            template_id,
                            None,
                            "inserted",
                            agent,
                            f"gen-{pick_id}",
                            sent,
                            None,
                            sent,
                        ]
                    )
                else:
                    ttp = int(1500 + 4500 * float(u[2]))
                    out[Pick].append(
                        [
                            pick_id,
                            int(conversation_id),
                            shown_id,
                            None,
                            None,
                            "dismissed",
                            agent,
                            f"gen-{pick_id}",
                            t + dt.timedelta(milliseconds=ttp),
                            ttp,
                            sent,
                        ]
                    )
                out[Message].append(
                    [
                        reply_id,
                        int(conversation_id),
                        "agent",
                        "Templated reply." if template_id else "My own words.",
                        sent,
                        template_id,
                        f"g{r}a",
                        shown_id if template_id else None,
                        arm.model_version_id if template_id and shown_id else None,
                        rank if template_id else None,
                        round(selection) if template_id else None,
                        sent,
                    ]
                )
                t = sent + dt.timedelta(seconds=20 + 70 * float(u[3]))
        return out


def _write(model: GeneratedModel, rows: list[Sequence[Any]]) -> None:
    if not rows:
        return
    columns = COLUMNS[model]
    if connection.vendor == "postgresql":
        table = model._meta.db_table
        with connection.cursor() as cursor:
            raw = cursor.cursor  # psycopg's own cursor: COPY is not in the DB-API
            with raw.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
                for row in rows:
                    copy.write_row(row)
        return
    # Instances of `model`: Any, as mypy cannot tie a member of the union to its own manager.
    objects: list[Any] = []
    for row in rows:
        values = dict(zip(columns, row, strict=True))
        if model is Suggestion:
            values["items"] = json.loads(values["items"])
        objects.append(model(**values))
    model.objects.bulk_create(objects, batch_size=500)
    if "created_at" in columns:
        # auto_now_add overrode the generated times; put them back where metrics read them.
        _restore_created_at(model, rows, columns)


def _restore_created_at(
    model: GeneratedModel, rows: Iterable[Sequence[Any]], columns: list[str]
) -> None:
    if model is not Suggestion:
        return
    at = columns.index("created_at")
    for row in rows:
        Suggestion.objects.filter(pk=row[0]).update(created_at=row[at])


def _reset_sequences() -> None:
    from django.core.management.color import no_style

    statements = connection.ops.sequence_reset_sql(no_style(), list(COLUMNS))
    with connection.cursor() as cursor:
        for statement in statements:
            cursor.execute(statement)
