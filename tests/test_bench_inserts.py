"""The benchmarks build their data with hand-written SQL (bench/scan.py): every ``INSERT`` there must name each
column the table requires (not null, no default in the database), or a new field breaks ``make bench`` unseen."""

import re
from pathlib import Path

import pytest
from django.apps import apps
from django.db.models import NOT_PROVIDED

BENCH = Path(__file__).resolve().parent.parent / "bench"
INSERT = re.compile(r"INSERT INTO (\w+) \(([^)]*)\)", re.S)


def inserts():
    for path in sorted(BENCH.glob("*.py")):
        for match in INSERT.finditer(path.read_text(encoding="utf-8")):
            table, columns = match.groups()
            if "{" not in columns:  # columns listed at run time are read from the model
                yield path.name, table, {re.sub(r'["\s]', "", column) for column in columns.split(",")}


@pytest.mark.parametrize(("script", "table", "columns"), list(inserts()), ids=lambda value: str(value)[:40])
def test_each_insert_of_the_benchmarks_names_every_required_column(script, table, columns):
    models = {model._meta.db_table: model for model in apps.get_models()}
    if table not in models:
        pytest.skip(f"{table} is the benchmark's own table")
    required = {
        field.column
        for field in models[table]._meta.local_concrete_fields
        if not field.null and not field.primary_key and field.db_default is NOT_PROVIDED
    }
    assert required - columns == set(), f"{script} inserts into {table} without {sorted(required - columns)}"


def test_the_benchmarks_insert_into_the_tables_they_build():
    assert {table for _, table, _ in inserts()} >= {"projects_plannode", "reviews_quarterlyreport", "accounts_user"}
