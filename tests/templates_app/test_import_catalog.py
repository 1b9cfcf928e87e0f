import io
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from templates_app.models import ResponseTemplate, TemplateRevision
from tests.datasets import DATASETS, needs_datasets

pytestmark = pytest.mark.django_db


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "catalog.csv"
    path.write_text(text, encoding="utf-8")
    return path


@needs_datasets
def test_imports_the_sgd_catalog_and_a_second_run_changes_nothing():
    source = DATASETS / "sgd" / "catalog.csv"
    out = io.StringIO()
    call_command("import_catalog", source, stdout=out)
    assert "434 created" in out.getvalue()
    assert ResponseTemplate.objects.count() == 434
    revisions = TemplateRevision.objects.count()

    out = io.StringIO()
    call_command("import_catalog", source, stdout=out)
    assert "0 created, 0 updated, 434 unchanged" in out.getvalue()
    assert ResponseTemplate.objects.count() == 434
    assert TemplateRevision.objects.count() == revisions


def test_a_changed_row_updates_with_a_revision(tmp_path):
    call_command("import_catalog", write(tmp_path, "key,title,body,category\na,A,one,x\n"))
    call_command("import_catalog", write(tmp_path, "key,title,body,category\na,A,two,x\n"))
    template = ResponseTemplate.objects.get(key="a")
    assert template.body == "two"
    assert list(template.revisions.values_list("body", flat=True)) == ["two", "one"]


@pytest.mark.parametrize(
    ("text", "line", "reason"),
    [
        ("key,title,body,category\nok,T,B,c\nbad,T,Hi {customer name},c\n", 3, "{customer name}"),
        ("key,title,body,category\nok,T,B,c\n,T,B,c\n", 3, "key"),
        ("key,title,body,category\nok,T,B,c\nok,T,B,c\n", 3, "repeats line 2"),
        ("key,title,body,category\nok,T,B,c\nx y,T,B,c\n", 3, "key"),
        ("key,title,body,category\nok,T,B,c\nz,T,B,c,extra\n", 3, "more fields"),
        ('key,title,body,category\nok,T,"two\nlines",c\nz,,B,c\n', 4, "title"),
        ("key,title,category\nok,T,c\n", 1, "missing column(s): body"),
        # A truncated file: the last row cut inside a quoted field, or short of its columns.
        ('key,title,body,category\nok,T,B,c\nz,T,"Your card is on its w', 3, "unexpected end"),
        ("key,title,body,category\nok,T,B,c\nz,T,Your card is on its w", 3, "fewer fields"),
        ("key,title,body,category,active\nok,T,B,c,1\nz,T,B,c", 3, "fewer fields"),
        ("key,title,body,category\nok,T,B,c\nz,T,B\x00,c\n", 3, "NUL"),
    ],
)
def test_a_bad_row_is_reported_by_line_and_nothing_is_imported(tmp_path, text, line, reason):
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_catalog", write(tmp_path, text), stderr=err)
    assert f"line {line}: " in err.getvalue()
    assert reason in err.getvalue()
    assert ResponseTemplate.objects.count() == 0


def test_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="cannot read"):
        call_command("import_catalog", tmp_path / "nope.csv")


def test_a_byte_that_is_not_utf8_is_reported_by_its_line(tmp_path):
    path = tmp_path / "catalog.csv"
    # \xed\xa0\x80 is a UTF-16 surrogate encoded as UTF-8, which UTF-8 forbids.
    path.write_bytes(b"key,title,body,category\nok,T,B,c\n" + b"z,T,B\xed\xa0\x80,c\n")
    err = io.StringIO()
    with pytest.raises(CommandError, match="nothing was imported"):
        call_command("import_catalog", path, stderr=err)
    assert "line 3: not UTF-8" in err.getvalue()
    assert not ResponseTemplate.objects.exists()


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "catalog.csv"
    path.write_bytes(b"\xef\xbb\xbfkey,title,body,category\nok,T,B,c\n")
    call_command("import_catalog", path, stdout=io.StringIO())
    assert ResponseTemplate.objects.get().key == "ok"


def test_a_file_without_active_or_locale_leaves_them_as_they_are(tmp_path):
    call_command(
        "import_catalog",
        write(tmp_path, "key,title,body,category,locale,active\na,A,one,x,fr,0\nb,B,one,x,de,1\n"),
    )
    call_command("import_catalog", write(tmp_path, "key,title,body,category\na,A,two,x\nc,C,t,x\n"))
    a, b, c = ResponseTemplate.objects.order_by("key")
    # An admin switched `a` off: a file that does not say otherwise leaves it off.
    assert (a.body, a.locale, a.is_active) == ("two", "fr", False)
    assert (b.locale, b.is_active) == ("de", True)
    assert (c.locale, c.is_active) == ("en", True)  # new: the defaults
    # Given, they are applied.
    call_command("import_catalog", write(tmp_path, "key,title,body,category,active\na,A,two,x,1\n"))
    assert ResponseTemplate.objects.get(key="a").is_active


@pytest.mark.slow
def test_a_catalog_of_100000_rows_imports_and_a_second_run_changes_nothing(tmp_path):
    rows = "".join(f"t{i},Title {i},Body {i} {{customer_name}},c{i % 50}\n" for i in range(100_000))
    path = write(tmp_path, "key,title,body,category\n" + rows)
    out = io.StringIO()
    call_command("import_catalog", path, stdout=out)
    assert "100000 created" in out.getvalue()
    assert ResponseTemplate.objects.count() == TemplateRevision.objects.count() == 100_000
    assert TemplateRevision.objects.get(template__key="t99999").body == "Body 99999 {customer_name}"

    out = io.StringIO()
    call_command("import_catalog", path, stdout=out)
    assert "0 created, 0 updated, 100000 unchanged" in out.getvalue()
