"""What indicators export (``/api/v1/exports/indicator-values/``): every recorded actual a user may see."""

from gstp.exports import ExportResource

from .selectors import indicator_actual_list


def _indicator_value_row(actual):
    return {
        "indicator": actual.indicator_id,
        "name": actual.indicator.name,
        "project": actual.indicator.node_id,
        "unit": actual.indicator.unit,
        "year": actual.year,
        "quarter": actual.quarter,
        "value": actual.value,
        "text": actual.text,
        "is_estimate": actual.is_estimate,
        "as_of": actual.as_of,
        "source": actual.source,
    }


INDICATOR_VALUES = ExportResource(
    rows_for=lambda user: indicator_actual_list(user=user), filterset_class=None, row=_indicator_value_row
)
