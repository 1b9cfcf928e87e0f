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
