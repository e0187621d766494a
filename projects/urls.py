from rest_framework.routers import SimpleRouter

from .apis import AgencyViewSet, DeletionViewSet, MilestoneViewSet, PlanViewSet

router = SimpleRouter()
router.register("agencies", AgencyViewSet, basename="agency")
router.register("plans", PlanViewSet, basename="plan")
router.register("milestones", MilestoneViewSet, basename="milestone")
router.register("deletions", DeletionViewSet, basename="deletion")

urlpatterns = router.urls
