"""Every row that has no history yet gets its starting point: one '+' historical row with its present values,
dated when this migration ran and marked ``HISTORY_BEGAN``. What a row was before then was never recorded,
so an as-of answer for an earlier moment is refused (``gstp.history.history_began``), not guessed.

One INSERT ... SELECT per model, on PostgreSQL and SQLite alike: fast on 100,000 sub-projects. And an index by
id and date on each history table, for as-of reads.
"""

from django.db import migrations

HISTORY_BEGAN = "history began"  # the mark of a starting point (``gstp.history.HISTORY_BEGAN``)
NOW = "CURRENT_TIMESTAMP"

# (app, model, the SQL expression of when the row came to be, in the terms of the model's own table): what
# a data set whose rows' times are true (the benchmark's) may date its starting points by instead.
STARTING_POINTS = [
    ("projects", "PlanNode", "{t}.created_at"),
    ("projects", "Milestone", "{t}.created_at"),
    ("projects", "BudgetYear", "{t}.created_at"),
    ("indicators", "Indicator", "{t}.created_at"),
    (
        "indicators",
        "IndicatorTarget",
        "(SELECT i.created_at FROM indicators_indicator i WHERE i.id = {t}.indicator_id)",
    ),
    ("indicators", "IndicatorActual", "{t}.recorded_at"),
    ("reviews", "QuarterlyReport", "{t}.created_at"),
    ("reviews", "LagFlag", "{t}.opened_at"),
]


def record_starting_points(apps, schema_editor, *, since_creation: bool = False):
    """Starting points dated now and marked, or (``since_creation``) dated when each row came to be."""
    quote = schema_editor.quote_name
    for app, name, created in STARTING_POINTS:
        since, reason = (created, "") if since_creation else (NOW, HISTORY_BEGAN)
        model = apps.get_model(app, name)
        historical = apps.get_model(app, f"Historical{name}")
        table, history_table = model._meta.db_table, historical._meta.db_table
        tracked = {field.column for field in historical._meta.concrete_fields}
        columns = [field.column for field in model._meta.concrete_fields if field.column in tracked]
        listed = ", ".join(quote(column) for column in columns)
        selected = ", ".join(f"{quote(table)}.{quote(column)}" for column in columns)
        schema_editor.execute(
            f"INSERT INTO {quote(history_table)} ({listed}, history_date, history_type, history_change_reason) "
            f"SELECT {selected}, {since.format(t=quote(table))}, '+', '{reason}' FROM {quote(table)} "
            f"WHERE NOT EXISTS (SELECT 1 FROM {quote(history_table)} h WHERE h.id = {quote(table)}.id)"
        )


# Each row's latest historical row as of a moment is found by id and date: an index on both for every
# history table (written as SQL: simple-history declares the historical models' indexes itself).
HISTORY_TABLES = [
    "projects_historicalplannode",
    "projects_historicalmilestone",
    "projects_historicalbudgetyear",
    "indicators_historicalindicator",
    "indicators_historicalindicatortarget",
    "indicators_historicalindicatoractual",
    "reviews_historicalquarterlyreport",
    "reviews_historicallagflag",
]


class Migration(migrations.Migration):
    dependencies = [
        ("projects", "0005_history_and_budget_ledger"),
        ("indicators", "0003_history"),
        ("reviews", "0010_plan_revisions"),
    ]

    operations = [
        *(
            migrations.RunSQL(
                f"CREATE INDEX {table}_as_of ON {table} (id, history_date, history_id)",
                f"DROP INDEX {table}_as_of",
            )
            for table in HISTORY_TABLES
        ),
        # The plan tree as of a moment, in its order (the live table's ``node_tree_order``).
        migrations.RunSQL(
            "CREATE INDEX projects_historicalplannode_tree_order ON projects_historicalplannode (plan_id, path)",
            "DROP INDEX projects_historicalplannode_tree_order",
        ),
        migrations.RunPython(record_starting_points, migrations.RunPython.noop, elidable=True),
    ]
