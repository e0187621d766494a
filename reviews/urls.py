from rest_framework.routers import SimpleRouter

from .apis import ReportViewSet

router = SimpleRouter()
router.register("reports", ReportViewSet, basename="report")

urlpatterns = router.urls
