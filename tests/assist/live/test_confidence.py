"""A "confident" suggestion is the event the model's threshold was fitted on, whatever happens to
the list after the classifier: hiding templates (inactive or sent), the new-template blend and
the external re-ranker may change the shown probabilities, but never make a suggestion confident
that the classifier's calibrated top-1 probability does not back (ranker/calibration.py:
confident_flags)."""

import io
import json
import shutil

import pytest
from django.core.management import call_command

from assist.live.suggestions import suggestion_create
from templates_app.models import ResponseTemplate
from tests import factories
from tests.tiny_models import DEMO_CATALOG

pytestmark = pytest.mark.django_db

TEXT = "My card has not arrived yet, it was ordered two weeks ago."


@pytest.fixture
def model_dir(demo_ranker_dir, tmp_path, settings):
    """A copy of the demo model that the test may give its own threshold; it serves."""
    path = tmp_path / "model"
    shutil.copytree(demo_ranker_dir, path, ignore=shutil.ignore_patterns("onnx"))
    settings.RANKER_DIR = path
    settings.RANKER_BACKEND = "fp32"
    settings.SUGGEST_EXCLUDE_SENT = False
    settings.EXTERNAL_RERANK_URL = ""
    call_command("import_catalog", DEMO_CATALOG, stdout=io.StringIO())
    return path


def set_threshold(model_dir, threshold: float) -> None:
    meta_path = model_dir / "ranker.json"
    meta = json.loads(meta_path.read_text())
    meta["threshold"] = threshold
    meta_path.write_text(json.dumps(meta))


def classifier_probabilities(model_dir) -> dict[str, float]:
    """The calibrated probability of every label over all labels, for TEXT alone."""
    from ranker import Ranker

    ranker = Ranker(model_dir, backend="fp32", threads=1)
    probs = ranker.predict([ranker.build_context([("customer", TEXT)])], renormalise=False)[0]
    return dict(zip(ranker.labels, probs.tolist(), strict=True))


def rank_message() -> list[dict]:
    message = factories.MessageFactory(role="customer", text=TEXT)
    suggestion = suggestion_create(message_id=message.pk)
    assert suggestion is not None
    return suggestion.items


def test_hiding_templates_does_not_make_the_rest_confident(model_dir):
    p = classifier_probabilities(model_dir)
    order = sorted(p, key=p.get, reverse=True)
    top = order[0]
    # Only the top template and the three least likely ones stay active: renormalised over
    # them, the top one would look near-certain.
    keep = {top, *order[-3:]}
    ResponseTemplate.objects.exclude(key__in=keep).update(is_active=False)
    renormalised = p[top] / sum(p[k] for k in keep)
    assert renormalised > p[top] + 0.01, "the demo model is too sure for this test"
    set_threshold(model_dir, (p[top] + renormalised) / 2)

    items = rank_message()

    assert items[0]["key"] == top
    assert items[0]["probability"] == pytest.approx(p[top], abs=1e-5)  # not renormalised
    assert not any(item["confident"] for item in items)


def test_the_classifiers_top1_above_the_threshold_is_confident_and_alone(model_dir):
    p = classifier_probabilities(model_dir)
    order = sorted(p, key=p.get, reverse=True)
    ResponseTemplate.objects.filter(key__in=order[-2:]).update(is_active=False)
    set_threshold(model_dir, min(p[order[0]] / 2, p[order[1]]))  # the second one reaches it too

    items = rank_message()

    assert [item["confident"] for item in items] == [True] + [False] * (len(items) - 1)
    assert items[0]["key"] == order[0]
    assert items[0]["probability"] == pytest.approx(p[order[0]], abs=1e-5)


def test_the_external_reranker_cannot_make_a_suggestion_confident(model_dir, settings, monkeypatch):
    p = classifier_probabilities(model_dir)
    order = sorted(p, key=p.get, reverse=True)
    second = order[1]
    settings.EXTERNAL_RERANK_URL = "http://reranker.invalid/v1"
    settings.EXTERNAL_RERANK_MODEL = "m"
    settings.EXTERNAL_RERANK_TOP_M = 10
    settings.EXTERNAL_RERANK_WEIGHT = 0.9
    settings.EXTERNAL_RERANK_TEMPERATURE = 1.0

    def sure_of_the_second(config, context, candidates):  # the endpoint, outside the system
        keys = [c.key for c in candidates]
        rest = 0.001 / (len(keys) - 1)
        return {key: 0.999 if key == second else rest for key in keys}

    monkeypatch.setattr("ranker.external.external_distribution", sure_of_the_second)
    top_m_mass = sum(p[k] for k in order[:10])
    # The re-ranker lifts the second to nearly all of the top-M's mass, above this threshold,
    # while the classifier's own probability of it stays below.
    threshold = (max(p[order[0]], p[second]) + top_m_mass) / 2
    set_threshold(model_dir, threshold)

    items = rank_message()

    assert items[0]["key"] == second
    assert items[0]["probability"] >= threshold  # shown above the threshold...
    assert not items[0]["confident"]  # ...but the classifier never backed it
    assert not any(item["confident"] for item in items)


def test_a_retrieved_new_template_is_never_confident(model_dir, settings):
    settings.SUGGEST_NEW_TEMPLATES = True
    settings.NEW_TEMPLATE_WEIGHT = 1000.0  # its share is then all the classifier is unsure of
    p = classifier_probabilities(model_dir)
    top = max(p, key=p.get)
    # A template newer than the model whose text is the customer's message itself.
    factories.TemplateFactory(key="general.brand_new", title=TEXT, body=TEXT)
    set_threshold(model_dir, 1e-6)  # everything shown reaches it

    items = rank_message()

    new = [item for item in items if item["key"] == "general.brand_new"]
    assert new, "the retriever did not surface the new template"
    assert new[0]["probability"] >= 1e-6 and not new[0]["confident"]
    assert [item["key"] for item in items if item["confident"]] == [top]
