from gstp.routers import ApiRouter

from .apis import AgencyViewSet, DeletionViewSet, PlanViewSet

# ``projects/`` and ``milestones/`` are served by ``reviews.project_apis``, which adds what reviews knows of them
# (lights, baselines) to these views.
router = ApiRouter()
router.register("agencies", AgencyViewSet, basename="agency")
router.register("plans", PlanViewSet, basename="plan")
router.register("deletions", DeletionViewSet, basename="deletion")

urlpatterns = router.urls
