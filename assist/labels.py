"""What counts as "the agent sent this template": the one rule behind training labels, the
review metrics (hit rate, selection time, usage per template) and the review timeline.

A reply is stored with the template it started from and, when the service could measure it,
`edit_similarity`: how much of the inserted text the sent text kept (`edit_similarity()`
below; 1.0 means sent as inserted). Where the template comes from:

- **A pick.** A client that inserted a template sends the pick with the reply (its client id,
  template and suggestion list; docs/protocol.md). The reply is stored with that template
  however much the agent edited it: filling `[[amount]]`, adding a sentence, rewriting it.
- **A named template without a pick** (older clients, which name it only when the sent text is
  exactly the inserted one, and imported logs). Taken at its word; a live reply is still
  measured against the template, so an exact copy measures 1.0.
- **Nothing.** A reply with neither is the agent's own text. It is never matched to the
  catalog by its wording: a label guessed from the text would be a second model's opinion,
  and the ranker would learn from its own guesses.

The rule: a reply *sent template T* when it names T and its similarity is unknown (imported
logs) or at least SENT_MIN_SIMILARITY. Below that the agent wrote their own reply starting
from T: training sees a free-text turn, metrics count a free-text reply, review says
"rewritten from T". The stored facts stay as they were, so moving the threshold relabels the
history without touching it.
"""

import difflib
import re

from django.db.models import Q

# Half of the template's words kept, in order (difflib's ratio, 2·matches / (a + b)): filling
# every field and adding a sentence of one's own stays above it; a reply that only reuses a
# greeting falls below.
SENT_MIN_SIMILARITY = 0.5

# Words compared at most, from the start of each text. difflib is quadratic in the worst case
# (0.7 s for 2,000 repetitive words); 500 bound it to a few milliseconds, far above any
# template's length, and a reply that much longer than its template scores low either way.
MAX_COMPARED_WORDS = 500

_UNFILLED = re.compile(r"\[\[[a-z_][a-z0-9_]*\]\]")
_WORDS = re.compile(r"\w+|[^\w\s]", re.UNICODE)


def _words(text: str) -> list[str]:
    return _WORDS.findall(text.casefold())[:MAX_COMPARED_WORDS]


def edit_similarity(inserted: str, sent: str) -> float:
    """How much of `inserted` (a rendered template) the agent kept in `sent`, 0.0 to 1.0.

    Compared word by word, case and spacing ignored. Unfilled `[[name]]` markers are left out
    of both sides: the value the agent typed in their place counts as an addition, as any
    added word does, not as a changed word (and a marker sent as it was changes nothing).
    The standard library's difflib is enough here (a few hundred words, once per reply), so
    no new dependency; it measures words, not characters, as an agent changes words.
    """
    a, b = _words(_UNFILLED.sub(" ", inserted)), _words(_UNFILLED.sub(" ", sent))
    if not a and not b:
        return 1.0
    return round(difflib.SequenceMatcher(None, a, b, autojunk=False).ratio(), 4)


def counts_as_sent(template_id: int | None, similarity: float | None) -> bool:
    """The rule, for a reply in hand (its template id and edit similarity)."""
    return template_id is not None and (similarity is None or similarity >= SENT_MIN_SIMILARITY)


def sent_template_q(prefix: str = "") -> Q:
    """The rule as a condition on messages (`prefix`: the path to them, like "messages__")."""
    return Q(**{f"{prefix}template__isnull": False}) & (
        Q(**{f"{prefix}edit_similarity__isnull": True})
        | Q(**{f"{prefix}edit_similarity__gte": SENT_MIN_SIMILARITY})
    )


def rewritten_q(prefix: str = "") -> Q:
    """Replies that started from a template but were rewritten past the rule: free text."""
    return Q(**{f"{prefix}template__isnull": False}) & Q(
        **{f"{prefix}edit_similarity__lt": SENT_MIN_SIMILARITY}
    )
