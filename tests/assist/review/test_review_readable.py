"""The review pages read right: lists used never above lists shown, customers by name, and
charts whose legends and axis labels can be read."""

import re

import pytest
from django.urls import reverse

from assist.models import Suggestion
from assist.review import charts
from tests import factories
from tests.conftest import client_for


@pytest.fixture
def supervisor_client(db):
    return client_for(factories.supervisor(username="sue"))


def used_once_picked_twice():
    """One list the agent inserted a template from, then sent it (two picks, one list)."""
    conversation = factories.ConversationFactory(customer_name="Jane Doe", external_id="T-77")
    ask = factories.MessageFactory(conversation=conversation)
    a, b = factories.TemplateFactory(key="t.a"), factories.TemplateFactory(key="t.b")
    shown = factories.SuggestionFactory(message=ask, templates=[a, b])
    for action in ("inserted", "sent"):
        factories.PickFactory(suggestion=shown, template=a, rank=1, action=action)
    Suggestion.objects.filter(pk=shown.pk).update(used=True)  # as the pick service does
    return conversation


def test_lists_used_never_exceed_lists_shown(supervisor_client):
    used_once_picked_twice()
    body = supervisor_client.get(reverse("review:conversations")).content.decode()
    cells = re.findall(r'<td class="num">(\d+)</td>', body)
    _messages, shown, used, _templated = (int(cell) for cell in cells)
    assert (shown, used) == (1, 1)


def test_the_list_names_the_customer_with_the_external_id_beside(supervisor_client):
    used_once_picked_twice()
    factories.ConversationFactory(customer_name="", external_id="T-88")
    body = supervisor_client.get(reverse("review:conversations")).content.decode()
    assert re.search(r'>Jane Doe</a> <span class="muted">T-77</span>', body)
    assert re.search(r">T-88</a></td>", body)  # no name: the external id stands in


def test_legend_swatches_have_their_series_colour():
    svg = charts.line_chart(
        ["2026-03-01", "2026-03-02"], {"with": [1.0, 2.0], "without": [3.0, None]}, title="t"
    )
    swatches = re.findall(r'<rect [^>]*fill="(#[0-9a-f]{6})" class="swatch"', svg)
    lines = re.findall(r'<polyline fill="none" stroke="(#[0-9a-f]{6})"', svg)
    dots = re.findall(r'<circle [^>]*fill="(#[0-9a-f]{6})"', svg)
    assert swatches == [lines[0], dots[0]] == list(charts.COLOURS[:2])


def test_the_last_axis_label_ends_inside_the_view_box():
    labels = [f"2026-03-{day:02d}" for day in range(1, 29)]
    svg = charts.line_chart(labels, {"s": [1.0] * 28}, title="t", width=640)
    last = re.search(r'<text x="([\d.]+)" y="\d+" text-anchor="(\w+)">2026-03-28</text>', svg)
    assert last is not None
    x, anchor = float(last.group(1)), last.group(2)
    # Anchored at its end, the label's right edge is its x, inside the 640-wide viewBox.
    assert anchor == "end" and x <= 640
    first = re.search(r'text-anchor="(\w+)">2026-03-01</text>', svg)
    assert first is not None and first.group(1) == "start"
