from django.urls import path
from rest_framework.routers import SimpleRouter

from .apis import ReportViewSet
from .flag_apis import FlagViewSet, LightsView

router = SimpleRouter()
router.register("reports", ReportViewSet, basename="report")
router.register("flags", FlagViewSet, basename="flag")

urlpatterns = [path("lights/", LightsView.as_view(), name="lights"), *router.urls]
