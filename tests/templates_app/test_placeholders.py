import pytest
from django.core.exceptions import ValidationError

from templates_app.placeholders import placeholder_names, render, validate_placeholders


@pytest.mark.parametrize(
    "body",
    ["Hello {customer_name}!", "No placeholders.", "Literal {{braces}} are fine", "{a1}{b_2}"],
)
def test_well_formed_bodies_pass(body):
    validate_placeholders(body)


@pytest.mark.parametrize(
    ("body", "named"),
    [
        ("Hello {customer name}", "{customer name}"),
        ("Hello {Customer}", "{Customer}"),
        ("Hello {}", "{}"),
        ("Hello {name", "'{'"),
        ("Hello name}", "'}'"),
        ("Total {amount!r}", "{amount!r}"),
    ],
)
def test_malformed_placeholder_is_named_in_the_error(body, named):
    with pytest.raises(ValidationError) as raised:
        validate_placeholders(body)
    assert named in " ".join(raised.value.messages)


def test_render_fills_known_values_and_marks_the_rest():
    rendered = render(
        "Hi {customer_first_name}, refund of {amount} on {date}; {amount} again. {{ok}}",
        {"customer_first_name": "Jo", "amount": ""},
    )
    assert rendered.text == "Hi Jo, refund of [[amount]] on [[date]]; [[amount]] again. {ok}"
    assert rendered.unfilled == ("amount", "date")


def test_render_never_raises_on_malformed_text():
    assert render("Oops {bad name} {", {}).text == "Oops {bad name} {"


def test_placeholder_names_in_order():
    assert placeholder_names("{b} {a} {b} {{c}}") == ["b", "a"]
