"""The API's filter backend: django-filter's, applied to collections only."""

from django_filters.rest_framework import DjangoFilterBackend


class CollectionFilterBackend(DjangoFilterBackend):
    """Query parameters filter lists; a detail route (``/projects/5/``, its actions) finds its object in
    the caller's scope alone, without building and validating the list's filter form on every read."""

    def filter_queryset(self, request, queryset, view):
        if getattr(view, "detail", False):
            return queryset
        return super().filter_queryset(request, queryset, view)

    def get_filterset_class(self, view, queryset=None):
        # Rows as of a past moment (``gstp.history``) are the historical model's; the view's filters name
        # the same fields on them.
        if queryset is not None and hasattr(queryset.model, "instance_type"):
            queryset = queryset.model.instance_type._default_manager.none()
        return super().get_filterset_class(view, queryset)
