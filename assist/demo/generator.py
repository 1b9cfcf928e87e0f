"""Synthetic support conversations for demos and for training the template ranker.

Every agent turn is either a response template from ``catalog.csv`` (with its placeholders
filled in) or a short free-text reply (``"template": None``). The customer side is written so
that the wording predicts the template without giving it away: each scenario has several
phrasings with varied slots (amounts, merchants, dates, countries) and occasional typos.

What is said lives in ``phrasings/`` beside this file; this module holds how a conversation
is put together:

- ``scenarios.json``: for each template key the customer can raise, the ``phrasings`` of the
  issue, and optionally the ``related`` issues that tend to follow it, the ``follow_ups`` (short
  questions that raise it only right after a related topic), the ``amounts`` its
  {amount} takes when that is a fee or limit rather than the customer's payment, the ``days``
  range ([lowest, highest]) of its {days}, and ``future_date`` when its {date} lies ahead.
  Slots in braces in the phrasings are filled per conversation: {amount} {merchant} {date}
  {last4} {country} {card} {fx} {bank} {recipient} {phone} {company}.
- ``turns.json``: the rest of the customer's lines (hellos, identity replies, thanks, the ways
  of saying they are done or of bringing up another problem, typo swaps), the agent's free-text
  lines, and the follow-up questions answered in free text, each with the categories it
  ``suits`` (category names or ``category_groups``; empty: any).

A conversation is shaped like a real chat: an optional hello and greeting, then one to three
topics (a new problem added after the agent's answer, a follow-up that leads to a related
template, or another problem given in reply to "anything else?"), follow-up questions answered
in free text, identity or card checks where a topic needs them, and a closing template only
after the customer has said they are done; many chats just stop after the last answer.
- ``people.json``: agent and customer names. ``slots.json``: the values slots are drawn from.

Order within the files matters: the same seed gives the same conversations only for the same
files.

The module uses the standard library only and imports nothing from the ``assist`` package, so
it can be run or imported without Django or Celery::

    python -m assist.demo.generator --n 300 --seed 0 --out demo.jsonl
"""

from __future__ import annotations

import argparse
import csv
import json
import random
import re
import sys
from collections.abc import Iterable
from pathlib import Path
from typing import Any

COMPANY_NAME = "Northwind Bank"
CATALOG_PATH = Path(__file__).with_name("catalog.csv")
PHRASINGS_DIR = Path(__file__).with_name("phrasings")
MAX_TURNS = 16
PLACEHOLDER_RE = re.compile(r"\{([a-z_][a-z0-9_]*)\}")
CHANNELS = ["chat", "chat", "chat", "chat", "app", "app", "email"]


def _phrasings(name: str) -> Any:
    with (PHRASINGS_DIR / f"{name}.json").open(encoding="utf-8") as fh:
        return json.load(fh)


PEOPLE: dict[str, list[str]] = _phrasings("people")
SLOTS: dict[str, list[str]] = _phrasings("slots")
TURNS: dict[str, Any] = _phrasings("turns")

_SCENARIOS: dict[str, dict[str, Any]] = _phrasings("scenarios")
SCENARIOS: dict[str, list[str]] = {key: s["phrasings"] for key, s in _SCENARIOS.items()}
# Which issue tends to follow which (besides unrelated ones the customer adds).
RELATED: dict[str, list[str]] = {
    key: s["related"] for key, s in _SCENARIOS.items() if "related" in s
}
# Short follow-up questions that raise a topic only after a related one ("Can I get it any
# quicker?" after a card replacement): they lean on the conversation for their meaning.
FOLLOW_UPS: dict[str, list[str]] = {
    key: s["follow_ups"] for key, s in _SCENARIOS.items() if "follow_ups" in s
}
# Templates whose {amount} is a fee or limit rather than the customer's payment.
AMOUNT_OVERRIDES: dict[str, list[str]] = {
    key: s["amounts"] for key, s in _SCENARIOS.items() if "amounts" in s
}
# (lowest, highest) value for {days} per template; anything else uses DEFAULT_DAYS.
DAYS_RANGE: dict[str, tuple[int, int]] = {
    key: (s["days"][0], s["days"][1]) for key, s in _SCENARIOS.items() if "days" in s
}
DEFAULT_DAYS = (3, 7)
# Templates whose {date} lies in the future (an expected outcome or a callback).
FUTURE_DATE_KEYS = {key for key, s in _SCENARIOS.items() if s.get("future_date")}

# Customer follow-up questions answered in free text: (question, answers, categories it suits;
# an empty tuple means any category).
CLARIFICATIONS: list[tuple[str, list[str], tuple[str, ...]]] = [
    (
        item["question"],
        item["answers"],
        tuple(c for name in item["suits"] for c in TURNS["category_groups"].get(name, [name])),
    )
    for item in TURNS["clarifications"]
]

# Scenarios where the agent often checks identity or the card first.
IDENTITY_CHECK_PREFIXES = (
    "account_closure.",
    "account_access.change_phone_number",
    "fraud.compromised_account",
    "fraud.scam_transfer",
    "general.update_personal_details",
    "statements.bank_letter",
    "transfers.wrong_details",
    "transfers.cancel",
)
CARD_CHECK_PREFIXES = (
    "card_lost_stolen.freeze",
    "card_lost_stolen.cancel_replace",
    "card_declined.",
    "fraud.unrecognised_payment",
    "card_delivery.activation",
)
REFERENCE_CATEGORIES = {"disputes", "fraud", "escalation", "transfers", "refunds"}
# The agent's last message after the customer has said they are done.
ENDING_CLOSINGS = [
    "closing.standard",
    "closing.resolved",
    "closing.follow_up_email",
    "closing.survey",
]


def load_catalog(catalog_path: Path | None = None) -> list[dict[str, str]]:
    """Read the template catalog (``key,title,body,category``) with the csv module."""
    path = Path(catalog_path) if catalog_path is not None else CATALOG_PATH
    with path.open(newline="", encoding="utf-8") as fh:
        return [dict(row) for row in csv.DictReader(fh)]


def _fill(text: str, values: dict[str, str]) -> str:
    """Replace ``{name}`` placeholders with values; unknown names are left untouched."""
    return PLACEHOLDER_RE.sub(lambda m: values.get(m.group(1), m.group(0)), text)


def _ordinal(n: int) -> str:
    suffix = "th" if 11 <= n % 100 <= 13 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"


def _random_date(rng: random.Random) -> tuple[int, int]:
    return rng.randint(1, 12), rng.randint(1, 28)


def _agent_date(month: int, day: int) -> str:
    return f"{day} {SLOTS['months'][month - 1]}"


def _customer_date(rng: random.Random, month: int, day: int) -> str:
    name = SLOTS["months"][month - 1]
    style = rng.randrange(4)
    if style == 0:
        return f"{day} {name}"
    if style == 1:
        return f"{name[:3]} {day}"
    if style == 2:
        return f"the {_ordinal(day)}"
    return f"{day:02d}/{month:02d}"


def _random_amount(rng: random.Random) -> str:
    if rng.random() < 0.3:
        value = f"{rng.choice([20, 25, 40, 50, 60, 75, 100, 120, 150, 200, 250, 300, 500]):,}"
    else:
        value = f"{rng.uniform(3, 950):,.2f}"
    return f"£{value}"


def _customer_amount(rng: random.Random, amount: str) -> str:
    bare = amount.lstrip("£")
    if "." not in bare:
        return rng.choice([amount, amount, f"{bare} pounds"])
    return rng.choice([amount, amount, bare, f"{bare} GBP"])


def _noisy(rng: random.Random, text: str) -> str:
    """Make customer text a little messier: lowercase, typos, slang, missing punctuation."""
    if rng.random() < 0.1:
        for word, short in TURNS["typo_swaps"]:
            text = re.sub(rf"\b{word}\b", short, text, flags=re.IGNORECASE)
    if rng.random() < 0.12:
        words = text.split(" ")
        candidates = [i for i, w in enumerate(words) if len(w) >= 5 and w.isalpha()]
        if candidates:
            i = rng.choice(candidates)
            w = words[i]
            j = rng.randrange(1, len(w) - 2)
            kind = rng.randrange(3)
            if kind == 0:
                w = w[:j] + w[j + 1] + w[j] + w[j + 2 :]
            elif kind == 1:
                w = w[:j] + w[j + 1 :]
            else:
                w = w[:j] + w[j] + w[j:]
            words[i] = w
            text = " ".join(words)
    if rng.random() < 0.15:
        text = text.lower()
    if rng.random() < 0.2:
        text = text.rstrip(".!")
    return text


def _customer_name(rng: random.Random) -> str:
    return f"{rng.choice(PEOPLE['first_names'])} {rng.choice(PEOPLE['last_names'])}"


class _Conversation:
    """Builds one conversation, keeping its slot values consistent across turns."""

    def __init__(self, rng: random.Random, bodies: dict[str, str], number: int) -> None:
        self.rng = rng
        self.bodies = bodies
        self.number = number
        self.customer_name = _customer_name(rng)
        self.agent_name = rng.choice(PEOPLE["agents"])
        self.channel = rng.choice(CHANNELS)
        month, day = _random_date(rng)
        self.month, self.day = month, day
        self.slots: dict[str, str] = {
            "customer_name": self.customer_name,
            "customer_first_name": self.customer_name.split(" ")[0],
            "agent_name": self.agent_name,
            "agent_first_name": self.agent_name.split(" ")[0],
            "company_name": COMPANY_NAME,
            "last4": f"{rng.randrange(10000):04d}",
            "reference": self._reference(),
        }
        self.customer_slots: dict[str, str] = {
            "merchant": rng.choice(SLOTS["merchants"]),
            "country": rng.choice(SLOTS["countries"]),
            "card": rng.choice(SLOTS["cards"]),
            "fx": rng.choice(SLOTS["fx_currencies"]),
            "bank": rng.choice(SLOTS["banks"]),
            "recipient": rng.choice(SLOTS["recipients"]),
            "phone": rng.choice(SLOTS["phones"]),
            "company": rng.choice([COMPANY_NAME, "Northwind", "you guys"]),
            "last4": self.slots["last4"],
            "dob": f"{rng.randint(1, 28):02d}/{rng.randint(1, 12):02d}/{rng.randint(1950, 2005)}",
            "postcode": rng.choice(SLOTS["postcodes"]),
        }
        self._set_amount(_random_amount(rng))
        self.customer_slots["date"] = _customer_date(rng, month, day)
        self.turns: list[dict[str, Any]] = []

    def _reference(self) -> str:
        alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
        return "NW-" + "".join(self.rng.choice(alphabet) for _ in range(8))

    def _set_amount(self, amount: str) -> None:
        self.slots["amount"] = amount
        self.customer_slots["amount"] = _customer_amount(self.rng, amount)

    def prepare(self, key: str, *, fresh: bool = False) -> None:
        """Set per-template slot values before the customer describes an issue.

        ``fresh`` draws a new amount, merchant and date, for a second, unrelated issue.
        """
        if key in AMOUNT_OVERRIDES:
            self._set_amount(self.rng.choice(AMOUNT_OVERRIDES[key]))
        elif fresh:
            self._set_amount(_random_amount(self.rng))
        if fresh:
            self.customer_slots["merchant"] = self.rng.choice(SLOTS["merchants"])
            self.month, self.day = _random_date(self.rng)
            self.customer_slots["date"] = _customer_date(self.rng, self.month, self.day)

    def customer(self, text: str, *, noisy: bool = True) -> None:
        text = _fill(text, self.customer_slots)
        if noisy:
            text = _noisy(self.rng, text)
        self.turns.append({"role": "customer", "text": text})

    def agent_template(self, key: str) -> None:
        values = dict(self.slots)
        lo, hi = DAYS_RANGE.get(key, DEFAULT_DAYS)
        values["days"] = str(self.rng.randint(lo, hi))
        if key in FUTURE_DATE_KEYS:
            month = self.month % 12 + 1
            values["date"] = _agent_date(month, self.rng.randint(1, 28))
        else:
            values["date"] = _agent_date(self.month, self.day)
        self.turns.append(
            {"role": "agent", "text": _fill(self.bodies[key], values), "template": key}
        )

    def agent_free(self, text: str) -> None:
        self.turns.append({"role": "agent", "text": text, "template": None})

    def to_dict(self) -> dict[str, Any]:
        return {
            "id": f"demo-{self.number:05d}",
            "customer_name": self.customer_name,
            "channel": self.channel,
            "turns": self.turns,
        }


# How the customer raises a topic: the first issue of the chat; the specific issue after a vague
# opener ("I need help") and the agent's request for details; a topic that follows from the
# previous one (a short follow-up question where the scenario has them); a new problem added
# right after the agent's answer; a new problem given in reply to "anything else?".
FIRST, SPECIFIC, RELATED_TOPIC, ADDED, AFTER_ANYTHING_ELSE = (
    "first",
    "specific",
    "related",
    "added",
    "after-anything-else",
)
# How the chat ends: the customer says it is over and the agent closes; the customer thanks,
# the agent asks whether there is anything else (closing.standard), and the customer may say
# no; or the customer simply stops writing after the answer (no closing).
END_SIGNAL, END_THANKS, END_SILENT = "signal", "thanks", "silent"


def _issue_text(rng: random.Random, key: str) -> str:
    return rng.choice(SCENARIOS[key])


def _with_prefix(prefix: str, text: str) -> str:
    """``prefix + text``, lowercasing the text's first letter after a prefix that runs on."""
    if prefix and prefix[-2] not in ".:" and text[1:2].islower():
        text = text[0].lower() + text[1:]
    return prefix + text


def _plan_topics(rng: random.Random, keys: list[str]) -> list[dict[str, Any]]:
    """The topics of one chat in order, each with how it is raised and what happens around it."""
    main = rng.choice(keys)
    count = rng.choices([1, 2, 3], weights=[35, 45, 20])[0]
    topics: list[dict[str, Any]] = [{"key": main, "raised": FIRST}]
    if main == "general.need_more_info":
        specific = rng.choice([k for k in keys if k != main])
        topics.append({"key": specific, "raised": SPECIFIC})
        count += 1
    while len(topics) < count:
        used = {t["key"] for t in topics}
        related = [k for k in RELATED.get(topics[-1]["key"], []) if k not in used]
        if related and rng.random() < 0.5:
            topics.append({"key": rng.choice(related), "raised": RELATED_TOPIC})
            continue
        key = rng.choice([k for k in keys if k not in used and k != "general.need_more_info"])
        raised = rng.choices([ADDED, AFTER_ANYTHING_ELSE], weights=[65, 35])[0]
        topics.append({"key": key, "raised": raised})
    identity_checked = card_checked = False
    for index, topic in enumerate(topics):
        key, check = topic["key"], None
        if key == "general.need_more_info":
            check = None
        elif key.startswith(IDENTITY_CHECK_PREFIXES) and not identity_checked:
            check = "identity" if rng.random() < 0.45 else None
        elif key.startswith(CARD_CHECK_PREFIXES) and not card_checked:
            check = "card" if rng.random() < 0.3 else None
        identity_checked |= check == "identity"
        card_checked |= check == "card"
        topic["check"] = check
        topic["failed"] = check == "identity" and rng.random() < 0.15
        topic["hold"] = check is None and key != "general.need_more_info" and rng.random() < 0.18
        topic["clarify"] = key != "general.need_more_info" and rng.random() < 0.22
        if topic["failed"]:  # the chat ends there
            return topics[: index + 1]
    return topics


def _topic_turns(topic: dict[str, Any]) -> int:
    n = 3 if topic["raised"] == AFTER_ANYTHING_ELSE else 1  # thanks, "anything else?", the issue
    n += 2 if topic["check"] else 0
    if topic["failed"]:
        return n + 1
    return n + (2 if topic["hold"] else 0) + 1 + (2 if topic["clarify"] else 0)


def _build(
    rng: random.Random, bodies: dict[str, str], keys: list[str], number: int
) -> dict[str, Any]:
    conv = _Conversation(rng, bodies, number)
    topics = _plan_topics(rng, keys)

    # Plan the optional parts first, then drop some if the conversation would be too long.
    opener = rng.choices(["hello", "greet", "none"], weights=[40, 35, 25])[0]
    greeting = (
        "greeting.formal"
        if conv.channel == "email" and rng.random() < 0.7
        else rng.choices(
            ["greeting.standard", "greeting.returning", "greeting.wait_apology", "greeting.formal"],
            weights=[60, 12, 15, 13],
        )[0]
    )
    ending = rng.choices([END_SIGNAL, END_THANKS, END_SILENT], weights=[50, 30, 20])[0]
    says_no_more = rng.random() < 0.5  # after "anything else?" at the end
    final_closing = rng.random() < 0.5  # after that "no"

    def length() -> int:
        n = {"hello": 2, "greet": 1}.get(opener, 0) + sum(_topic_turns(t) for t in topics)
        if any(t["failed"] for t in topics):
            return n
        if ending == END_SIGNAL:
            return n + 2
        if ending == END_THANKS:
            return n + 2 + (1 + final_closing if says_no_more else 0)
        return n

    for drop in ("hold", "clarify", "opener", "check", "topic", "no_more"):
        while length() > MAX_TURNS:
            if drop in ("hold", "clarify", "check"):
                planned = [t for t in topics if t[drop]]
                if not planned:
                    break
                planned[-1][drop] = None if drop == "check" else False
                planned[-1]["failed"] &= drop != "check"
            elif drop == "opener" and opener != "none":
                opener = "greet" if opener == "hello" else "none"
            elif drop == "topic" and len(topics) > 1:
                topics.pop()
            elif drop == "no_more" and says_no_more:
                says_no_more = False
            else:
                break

    # Opening.
    if opener == "hello":
        if greeting == "greeting.returning":
            conv.customer(rng.choice(TURNS["customer_hellos_returning"]))
        elif greeting == "greeting.wait_apology":
            conv.customer(rng.choice(TURNS["customer_hellos_waited"]))
        else:
            conv.customer(rng.choice(TURNS["customer_hellos"]))
    if opener != "none":
        conv.agent_template(greeting)

    # The topics, one after the other.
    for topic in topics:
        key, raised = topic["key"], topic["raised"]
        conv.prepare(key, fresh=raised in (ADDED, AFTER_ANYTHING_ELSE))
        text = _issue_text(rng, key)
        if raised == RELATED_TOPIC:
            if key in FOLLOW_UPS and rng.random() < 0.7:
                text = rng.choice(FOLLOW_UPS[key])
            elif rng.random() < 0.5:
                text = _with_prefix(rng.choice(TURNS["second_issue_prefixes"]), text)
        elif raised == ADDED:
            text = _with_prefix(rng.choice(TURNS["second_issue_prefixes"]), text)
        elif raised == AFTER_ANYTHING_ELSE:
            conv.customer(rng.choice(TURNS["customer_thanks"]))
            conv.agent_template("closing.standard")
            text = _with_prefix(rng.choice(TURNS["anything_else_prefixes"]), text)
        conv.customer(text)
        if topic["check"] == "identity":
            conv.agent_template("verification.identity_check")
            conv.customer(rng.choice(TURNS["identity_replies"]))
            if topic["failed"]:
                # The chat ends here: the agent cannot go on, and the customer leaves.
                conv.agent_template("verification.failed")
                return conv.to_dict()
        elif topic["check"] == "card":
            conv.agent_template("verification.card_last4")
            conv.customer(rng.choice(TURNS["card_check_replies"]))
        if topic["hold"]:
            conv.agent_free(rng.choice(TURNS["agent_holds"]))
            conv.customer(rng.choice(TURNS["customer_acks"]))
        conv.agent_template(key)
        if topic["clarify"]:
            category = key.split(".")[0]
            question, answers, _ = rng.choice(
                [c for c in CLARIFICATIONS if not c[2] or category in c[2]]
            )
            conv.customer(question)
            conv.agent_free(rng.choice(answers))

    # The end: a closing template only after the customer has said they are done.
    if ending == END_SIGNAL:
        conv.customer(rng.choice(TURNS["customer_endings"]))
        categories = {t["key"].split(".")[0] for t in topics}
        if categories & REFERENCE_CATEGORIES or conv.channel == "email":
            weights = [20, 25, 35, 20]
        else:
            weights = [25, 40, 5, 30]
        conv.agent_template(rng.choices(ENDING_CLOSINGS, weights=weights)[0])
    elif ending == END_THANKS:
        conv.customer(rng.choice(TURNS["customer_thanks"]))
        conv.agent_template("closing.standard")
        if says_no_more:
            conv.customer(rng.choice(TURNS["customer_no_more"]))
            if final_closing:
                conv.agent_template(rng.choice(["closing.survey", "closing.resolved"]))
    return conv.to_dict()


def generate_conversations(
    n: int, *, seed: int = 0, catalog_path: Path | None = None
) -> list[dict[str, Any]]:
    """Return ``n`` synthetic conversations in the interchange format, deterministic per seed."""
    if n < 0:
        raise ValueError("n must not be negative")
    bodies = {row["key"]: row["body"] for row in load_catalog(catalog_path)}
    needed = set(SCENARIOS) | {
        "verification.identity_check",
        "verification.card_last4",
        "verification.failed",
        "greeting.standard",
        "greeting.returning",
        "greeting.wait_apology",
        "greeting.formal",
        "closing.standard",
        "closing.resolved",
        "closing.follow_up_email",
        "closing.survey",
    }
    for related in RELATED.values():
        needed.update(related)
    missing = sorted(needed - bodies.keys())
    if missing:
        raise ValueError(f"catalog lacks templates used by the generator: {', '.join(missing)}")
    rng = random.Random(seed)
    keys = list(SCENARIOS)
    return [_build(rng, bodies, keys, i + 1) for i in range(n)]


def write_jsonl(conversations: Iterable[dict[str, Any]], path: Path | str) -> int:
    """Write one conversation per line (UTF-8 JSON); return how many were written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    count = 0
    with path.open("w", encoding="utf-8") as fh:
        for conversation in conversations:
            fh.write(json.dumps(conversation, ensure_ascii=False) + "\n")
            count += 1
    return count


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description="Generate demo support conversations (JSONL).")
    parser.add_argument("--n", type=int, default=300, help="number of conversations (300)")
    parser.add_argument("--seed", type=int, default=0, help="random seed (0)")
    parser.add_argument("--out", default="-", help="output .jsonl file, or - for stdout")
    parser.add_argument("--catalog", type=Path, default=None, help="catalog CSV to use")
    args = parser.parse_args(argv)
    conversations = generate_conversations(args.n, seed=args.seed, catalog_path=args.catalog)
    if args.out == "-":
        for conversation in conversations:
            sys.stdout.write(json.dumps(conversation, ensure_ascii=False) + "\n")
    else:
        count = write_jsonl(conversations, args.out)
        print(f"wrote {count} conversations to {args.out}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
