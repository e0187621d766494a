"""Indicators for tests, with their targets (目標值) and actuals (達成值).

``IndicatorFactory(node=sub, targets=[(2025, 0, "1000")], actuals=[(2024, 0, "800")])``: targets and actuals
are ``(year, quarter, value)``, quarter 0 for the whole year; an actual may add ``is_estimate`` (預估值):
``(2024, 0, "9.3", True)``. Without ``node`` the indicator is a plan-level
(overall) one of ``plan``.
"""

from decimal import Decimal

import factory

from indicators.models import Indicator, IndicatorActual, IndicatorTarget
from tests.projects.factories import PlanFactory


class IndicatorFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Indicator
        skip_postgeneration_save = True

    node = None
    plan = factory.LazyAttribute(lambda o: o.node.plan if o.node is not None else PlanFactory())
    key = factory.Sequence(lambda n: f"test/{n}")
    name = factory.Sequence(lambda n: f"指標 {n}")

    @factory.post_generation
    def targets(indicator, create, extracted, **kwargs):
        for year, quarter, value in extracted or ():
            IndicatorTargetFactory(indicator=indicator, year=year, quarter=quarter, value=Decimal(value))

    @factory.post_generation
    def actuals(indicator, create, extracted, **kwargs):
        for year, quarter, value, *estimate in extracted or ():
            IndicatorActualFactory(
                indicator=indicator, year=year, quarter=quarter, value=Decimal(value), is_estimate=any(estimate)
            )


class IndicatorTargetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = IndicatorTarget

    indicator = factory.SubFactory(IndicatorFactory)
    year = 2025
    quarter = 0
    value = Decimal("100")


class IndicatorActualFactory(factory.django.DjangoModelFactory):
    """A recorded actual: ``value=`` for a figure, ``text=`` for a qualitative result (no value, as the model)."""

    class Meta:
        model = IndicatorActual

    indicator = factory.SubFactory(IndicatorFactory)
    year = 2024
    quarter = 0
    value = None
