"""Catalog search: one function, `template_search`, behind the panel, the REST API and the admin.

A template matches on its own title, key and body, and on the title and body of its texts in
other locales (TemplateVariant), so that "tarjeta" finds the key whose Spanish text says it. A
search for a `locale` (the panel's: the conversation's language) looks at the variants in that
locale, or in its language without the region (`es` for `es-MX`), as templates_app.variants
picks the text to show; one without (the admin, the REST API without `locale`) looks at every
variant. The key's own text always counts: it is what the panel shows where no variant exists.
A template's relevance is the best of its own text's and its variants'.

Results come in order of relevance, then usage (replies sent with the template), then key:

- PostgreSQL: `ts_rank` of the generated `search_vector` columns (title A, key B, body C,
  English stemming; migrations 0003 and, for the variants, 0005) against the query's words as
  prefixes (`freez:* | card:*`). A word that matches nothing as typed is taken for a typo: the
  pg_trgm word similarity of such words to the title and the key (a variant's title) adds to
  the rank, so that "frezee" still finds "Freeze a lost card".
- SQLite (the embedded mode): FTS5's bm25 over title, key and body (porter stemming), kept by
  triggers (migrations 0003 and 0005): one index of the templates' texts (rowid: the template's
  id) and the variants' (minus the variant's id), so that the words' statistics, and with them
  the scores, are the same for both. A word that matches nothing is corrected against the
  index's own vocabulary (fts5vocab) with difflib: the vocabulary is a few thousand words at
  most, so the standard library is fast enough, and the embedded mode needs no extra
  dependency for it.

Relevance scores within RELEVANCE_STEP (relative to the best result) of each other count as
equal, so that among equally good matches the template the team sends most comes first.

The query is reduced to its words (letters and digits) before either engine sees it, so no
character of the input ever reaches a tsquery or an FTS5 MATCH expression as syntax.
"""

import difflib
import re
from collections.abc import Iterable
from typing import Any

from django.contrib.postgres.search import (
    SearchQuery,
    SearchRank,
    SearchVectorExact,
    SearchVectorField,
    TrigramWordSimilarity,
)
from django.db import connection
from django.db.models import (
    BooleanField,
    Case,
    Count,
    F,
    FloatField,
    Max,
    Q,
    QuerySet,
    Value,
    When,
)
from django.db.models.expressions import RawSQL
from django.db.models.lookups import GreaterThan

# Usage is read from the live-assist app's replies; templates_app imports nothing else from it.
from assist.models import Message
from templates_app.models import ResponseTemplate, TemplateVariant

MAX_QUERY_CHARS = 200
MAX_WORDS = 10
# Longer "words" are pasted text, not something to look up.
MAX_WORD_CHARS = 40
# Results ranked per search: the panel shows 10; the admin pages through its own filters.
DEFAULT_LIMIT = 50
RELEVANCE_STEP = 0.05

FTS_TABLE = "templates_app_search"
# PostgreSQL: ts_rank's default weights are A 1.0, B 0.4, C 0.2, D 0.1. The query's trigram
# word similarity to the title and to the key counts like those weights (title 1, key 0.4),
# halved: a typo in a title (similarity about 0.45) ranks above the exact word found only in
# a body (ts_rank about 0.12), below the exact word in a title (about 0.6 and more).
TYPO_SIMILARITY_MIN = 0.3
TYPO_WEIGHT = 0.5
KEY_WEIGHT = 0.4
# SQLite: bm25 weights of title, key, body; difflib's ratio for a correction.
FTS_WEIGHTS = (10.0, 4.0, 1.0)
FTS_CORRECTION_CUTOFF = 0.7
FTS_CORRECTIONS_PER_WORD = 3

_WORD = re.compile(r"[^\W_]+")


class SearchQueryInvalid(ValueError):
    """The query cannot be searched for (too long); nothing was looked up."""


def search_words(query: str) -> list[str]:
    """The query's distinct words, lower-cased, in order: what both engines search for."""
    if len(query) > MAX_QUERY_CHARS:
        raise SearchQueryInvalid(f"A search is at most {MAX_QUERY_CHARS} characters.")
    words = [w for w in _WORD.findall(query.lower()) if len(w) <= MAX_WORD_CHARS]
    return list(dict.fromkeys(words))[:MAX_WORDS]


def template_search(
    *,
    query: str = "",
    category: str = "",
    active_only: bool = True,
    templates: QuerySet[ResponseTemplate] | None = None,
    limit: int = DEFAULT_LIMIT,
    locale: str | None = None,
) -> QuerySet[ResponseTemplate]:
    """Templates matching `query`, best first; the whole (filtered) catalog by category and key
    for an empty query. `templates` narrows the search (the admin's filters); `locale` (blank
    or None: any) the variants looked at. Raises SearchQueryInvalid for a query over
    MAX_QUERY_CHARS."""
    if templates is None:
        templates = ResponseTemplate.objects.all()
    if active_only:
        templates = templates.filter(is_active=True)
    if category:
        templates = templates.filter(category=category)
    words = search_words(query)
    if not query.strip():
        return templates.order_by("category", "key")
    if not words:
        return templates.none()
    variants = TemplateVariant.objects.filter(template_id__in=templates.order_by().values("pk"))
    locales = search_locales(locale)
    if locales:
        variants = variants.filter(locale__in=locales)
    if connection.vendor == "postgresql":
        scored = _postgresql_scores(templates, variants, words, limit)
    else:
        scored = _sqlite_scores(templates, locales, words, limit)
    order = _by_relevance_then_usage(scored)
    if not order:
        return templates.none()
    # One CASE written out: the same as Case(When(pk=...)...) but compiled in a fraction of the
    # time, which for 50 results was most of a search's time.
    whens = " ".join("WHEN %s THEN %s" for _ in order)
    position = RawSQL(
        f"CASE {ResponseTemplate._meta.db_table}.id {whens} END",
        [value for i, pk in enumerate(order) for value in (pk, i)],
    )
    return templates.filter(pk__in=order).order_by(position)


def search_locales(locale: str | None) -> list[str]:
    """The variant locales a search for `locale` looks at (none: every one): the locale and its
    language, the two that templates_app.variants.template_text shows a text in."""
    if not locale:
        return []
    return list(dict.fromkeys([locale, locale.split("-")[0]]))


def template_usage(template_ids: Iterable[int]) -> dict[int, int]:
    """How many replies were sent with each template (live and imported conversations)."""
    rows = (
        Message.objects.filter(template_id__in=list(template_ids))
        .values("template_id")
        .annotate(n=Count("pk"))
        .values_list("template_id", "n")
    )
    return dict(rows)


def _by_relevance_then_usage(scored: list[tuple[int, str, float]]) -> list[int]:
    """Ids of (id, key, relevance) rows: relevance in steps of the best one, then usage, key."""
    if not scored:
        return []
    best = max(relevance for _, _, relevance in scored) or 1.0
    usage = template_usage(pk for pk, _, _ in scored)
    ranked = sorted(
        scored,
        key=lambda row: (-round(row[2] / best / RELEVANCE_STEP), -usage.get(row[0], 0), row[1]),
    )
    return [pk for pk, _, _ in ranked]


def _best_of(*scored: list[tuple[int, str, float]], limit: int) -> list[tuple[int, str, float]]:
    """The `limit` best of (id, key, relevance) rows, each template once at its best relevance:
    the best `limit` of each list hold the best `limit` of all."""
    best: dict[int, tuple[int, str, float]] = {}
    for rows in scored:
        for row in rows:
            if row[0] not in best or row[2] > best[row[0]][2]:
                best[row[0]] = row
    return sorted(best.values(), key=lambda row: (-row[2], row[1]))[:limit]


def _postgresql_scores(
    templates: QuerySet[ResponseTemplate],
    variants: QuerySet[TemplateVariant],
    words: list[str],
    limit: int,
) -> list[tuple[int, str, float]]:
    typos = " ".join(_postgresql_unmatched(templates, variants, words))
    # Words are letters and digits only, so this is valid tsquery syntax.
    query = _tsquery(" | ".join(f"{w}:*" for w in words))
    if typos:
        _postgresql_set_typo_threshold()
    return _best_of(
        _postgresql_own_scores(templates, query, typos, limit),
        _postgresql_variant_scores(variants, query, typos, limit),
        limit=limit,
    )


def _postgresql_own_scores(
    templates: QuerySet[ResponseTemplate], query: SearchQuery, typos: str, limit: int
) -> list[tuple[int, str, float]]:
    templates = templates.annotate(search_vector=_search_vector())
    relevance: Any = SearchRank(F("search_vector"), query)
    found = Q(search_vector=query)
    if typos:
        templates = templates.annotate(
            title_similarity=TrigramWordSimilarity(typos, "title"),
            key_similarity=TrigramWordSimilarity(typos, "key"),
        )
        relevance += TYPO_WEIGHT * (
            _above("title_similarity", TYPO_SIMILARITY_MIN)
            + KEY_WEIGHT * _above("key_similarity", TYPO_SIMILARITY_MIN)
        )
        # `<%` (word similarity over the threshold) on the expression of the trigram index of
        # migration 0003, as a statement of its own so that the planner scans that index;
        # word_similarity() over every row made a search 100 times slower on 3,000 templates.
        table = ResponseTemplate._meta.db_table
        near = RawSQL(
            f"%s <%% ({table}.title || ' ' || {table}.key)", [typos], output_field=BooleanField()
        )
        near_ids = ResponseTemplate.objects.filter(near).order_by().values_list("pk", flat=True)
        found |= Q(pk__in=list(near_ids))
    rows = (
        templates.filter(found)
        .annotate(relevance=relevance)
        .order_by("-relevance", "key")
        .values_list("pk", "key", "relevance")[:limit]
    )
    return list(rows)


def _postgresql_variant_scores(
    variants: QuerySet[TemplateVariant], query: SearchQuery, typos: str, limit: int
) -> list[tuple[int, str, float]]:
    """(template id, key, relevance of its best variant) for the variants matching `query`,
    scored as a template's own text is, less the key (the key is the template's)."""
    vector = _variant_search_vector()
    relevance: Any = SearchRank(vector, query)
    found: Any = Q(SearchVectorExact(vector, query))
    if typos:
        similarity = TrigramWordSimilarity(typos, "title")
        relevance += TYPO_WEIGHT * Case(
            When(GreaterThan(similarity, TYPO_SIMILARITY_MIN), then=similarity),
            default=Value(0.0),
            output_field=FloatField(),
        )
        # The trigram index of migration 0005 is on the title alone, as named here.
        table = TemplateVariant._meta.db_table
        near = RawSQL(f"%s <%% {table}.title", [typos], output_field=BooleanField())
        near_ids = TemplateVariant.objects.filter(near).order_by().values_list("pk", flat=True)
        found |= Q(pk__in=list(near_ids))
    rows = (
        variants.filter(found)
        .values("template_id", "template__key")
        .annotate(relevance=Max(relevance))
        .order_by("-relevance", "template__key")
        .values_list("template_id", "template__key", "relevance")[:limit]
    )
    return list(rows)


def _postgresql_set_typo_threshold() -> None:
    """`<%` compares with this setting of the connection (pg_trgm's default is 0.6)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT set_config('pg_trgm.word_similarity_threshold', %s, false)",
            [str(TYPO_SIMILARITY_MIN)],
        )


def _search_vector() -> RawSQL:
    """The generated column of migration 0003, which is not a model field."""
    table = ResponseTemplate._meta.db_table
    return RawSQL(f"{table}.search_vector", [], output_field=SearchVectorField())


def _variant_search_vector() -> RawSQL:
    """The generated column of migration 0005, which is not a model field."""
    table = TemplateVariant._meta.db_table
    return RawSQL(f"{table}.search_vector", [], output_field=SearchVectorField())


def _tsquery(text: str) -> SearchQuery:
    return SearchQuery(text, search_type="raw", config="english")


def _postgresql_unmatched(
    templates: QuerySet[ResponseTemplate], variants: QuerySet[TemplateVariant], words: list[str]
) -> list[str]:
    """The words that match no template nor searched variant as typed, less English stop words
    ("the", "your"), which the index leaves out: the words to look for as typos. One
    statement."""
    searched, params = (
        templates.order_by().values(search_vector=_search_vector()).query.sql_with_params()
    )
    searched_variants, variant_params = (
        variants.order_by().values(search_vector=_variant_search_vector()).query.sql_with_params()
    )
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT w FROM unnest(%s::text[]) WITH ORDINALITY AS u(w, i), "
            "to_tsquery('english', w || ':*') AS q "
            f"WHERE numnode(q) > 0 AND NOT EXISTS (SELECT 1 FROM ({searched}) t "
            "WHERE t.search_vector @@ q) "
            f"AND NOT EXISTS (SELECT 1 FROM ({searched_variants}) v "
            "WHERE v.search_vector @@ q) ORDER BY i",
            [words, *params, *variant_params],
        )
        return [w for (w,) in cursor.fetchall()]


def _above(field: str, minimum: float) -> Case:
    """The annotation `field` where it is over `minimum`, else 0 (noise of short trigrams)."""
    return Case(
        When(**{f"{field}__gt": minimum}, then=F(field)),
        default=Value(0.0),
        output_field=FloatField(),
    )


def _sqlite_scores(
    templates: QuerySet[ResponseTemplate], locales: list[str], words: list[str], limit: int
) -> list[tuple[int, str, float]]:
    # The locales are parameters; only their placeholders are written into the SQL.
    variant_in_locale = f"v.locale IN ({', '.join('%s' for _ in locales)})" if locales else "1"
    variants = TemplateVariant._meta.db_table
    with connection.cursor() as cursor:
        groups = []
        for word in words:
            terms = [f'"{word}"*']
            if not _fts_matches(cursor, terms[0], variant_in_locale, locales):
                terms += [f'"{term}"' for term in _fts_corrections(cursor, word)]
            groups.append(" OR ".join(terms))
        allowed_sql, allowed_params = templates.order_by().values("pk").query.sql_with_params()
        weights = ", ".join(str(w) for w in FTS_WEIGHTS)
        cursor.execute(
            # MATERIALIZED: the full-text match runs once. Joined as a plain subquery, SQLite
            # ran it again for every template (seconds for 3,000 templates).
            f"WITH m AS MATERIALIZED (SELECT rowid AS id, -bm25({FTS_TABLE}, {weights}) AS "
            f"relevance FROM {FTS_TABLE} WHERE {FTS_TABLE} MATCH %s), "
            f"s AS (SELECT id, relevance FROM m WHERE id > 0 UNION ALL "
            f"SELECT v.template_id, m.relevance FROM m JOIN {variants} v ON v.id = -m.id "
            f"WHERE m.id < 0 AND {variant_in_locale}) "
            f"SELECT s.id, t.key, MAX(s.relevance) AS relevance FROM s "
            f"JOIN {ResponseTemplate._meta.db_table} t ON t.id = s.id "
            f"WHERE s.id IN ({allowed_sql}) GROUP BY s.id, t.key "
            f"ORDER BY relevance DESC, t.key LIMIT %s",
            [" OR ".join(f"({group})" for group in groups), *locales, *allowed_params, limit],
        )
        return [(pk, key, float(relevance)) for pk, key, relevance in cursor.fetchall()]


def _fts_matches(cursor, term: str, variant_in_locale: str, locales: list[str]) -> bool:
    """Whether `term` matches a template's own text or a variant in the searched locales."""
    cursor.execute(
        f"SELECT 1 FROM {FTS_TABLE} LEFT JOIN {TemplateVariant._meta.db_table} v "
        f"ON v.id = -{FTS_TABLE}.rowid WHERE {FTS_TABLE} MATCH %s "
        f"AND ({FTS_TABLE}.rowid > 0 OR {variant_in_locale}) LIMIT 1",
        [term, *locales],
    )
    return cursor.fetchone() is not None


def _fts_corrections(cursor, word: str) -> list[str]:
    """Indexed terms (porter stems) close to a word that matches nothing as typed."""
    cursor.execute(f"SELECT term FROM {FTS_TABLE}_vocab")
    vocabulary = [term for (term,) in cursor.fetchall()]
    return difflib.get_close_matches(
        word, vocabulary, n=FTS_CORRECTIONS_PER_WORD, cutoff=FTS_CORRECTION_CUTOFF
    )
