from django.urls import path
from rest_framework.routers import SimpleRouter

from .apis import IndicatorViewSet, PlanIndicatorSummaryView

router = SimpleRouter()
router.register("indicators", IndicatorViewSet, basename="indicator")

urlpatterns = [
    path("plans/<int:plan_id>/indicators/", PlanIndicatorSummaryView.as_view(), name="plan-indicators"),
    *router.urls,
]
