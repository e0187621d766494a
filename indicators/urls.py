from django.urls import path

from gstp.routers import ApiRouter

from .apis import IndicatorViewSet, PlanIndicatorSummaryView

router = ApiRouter()
router.register("indicators", IndicatorViewSet, basename="indicator")

urlpatterns = [
    path("plans/<int:plan_id>/indicators/", PlanIndicatorSummaryView.as_view(), name="plan-indicators"),
    *router.urls,
]
