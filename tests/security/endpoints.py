"""Every API endpoint and method, read from the URL resolver, so a new one is never silently left out."""

import re
from dataclasses import dataclass

from django.urls import URLPattern, URLResolver, get_resolver
from rest_framework.views import APIView

API_PREFIX = "api/v1/"
# Not the API's resources: its own description, and the browser's sign-in pages.
NOT_RESOURCES = {"api-root", "schema", "docs", "login", "logout"}
# Reads without a path parameter that are not collections: who is signed in.
NOT_COLLECTIONS = {"auth-session"}
_REGEX_GROUP = re.compile(r"\(\?P<(\w+)>[^)]*\)")
_ROUTE_PARAMETER = re.compile(r"<(?:\w+:)?(\w+)>")


@dataclass(frozen=True)
class Endpoint:
    method: str  # upper case
    route: str  # "/api/v1/reports/{pk}/submit/"
    name: str  # the URL name, e.g. "report-submit"

    @property
    def parameters(self) -> tuple[str, ...]:
        return tuple(re.findall(r"\{(\w+)\}", self.route))

    @property
    def key(self) -> str:
        return f"{self.method} {self.route}"

    def url(self, **values) -> str:
        return self.route.format(**values)


def _template(pattern: str) -> str:
    pattern = pattern.replace("^", "").replace("$", "")
    return _ROUTE_PARAMETER.sub(r"{\1}", _REGEX_GROUP.sub(r"{\1}", pattern))


def _walk(patterns, prefix=""):
    for pattern in patterns:
        if isinstance(pattern, URLResolver):
            yield from _walk(pattern.url_patterns, prefix + str(pattern.pattern))
        elif isinstance(pattern, URLPattern):
            yield prefix + str(pattern.pattern), pattern


def _methods(callback) -> list[str]:
    actions = getattr(callback, "actions", None)
    if actions:  # a viewset route: the methods it maps to actions (DRF adds HEAD to a GET once it serves one)
        return [method.upper() for method in actions if method not in ("head", "options")]
    view_class = getattr(callback, "view_class", None) or getattr(callback, "cls", None)
    if view_class is None or not issubclass(view_class, APIView):
        return []
    return [m.upper() for m in view_class.http_method_names if m not in ("head", "options") and hasattr(view_class, m)]


def api_endpoints() -> list[Endpoint]:
    endpoints = []
    for pattern, url in _walk(get_resolver().url_patterns):
        if not pattern.startswith(API_PREFIX) or url.name in NOT_RESOURCES:
            continue
        route = "/" + _template(pattern)
        endpoints.extend(Endpoint(method, route, url.name) for method in _methods(url.callback))
    return sorted(endpoints, key=lambda endpoint: (endpoint.route, endpoint.method))


def object_endpoints() -> list[Endpoint]:
    """The endpoints that name one object (or one resource) in their path."""
    return [endpoint for endpoint in api_endpoints() if endpoint.parameters]


def collection_reads() -> list[Endpoint]:
    return [
        endpoint
        for endpoint in api_endpoints()
        if not endpoint.parameters and endpoint.method == "GET" and endpoint.name not in NOT_COLLECTIONS
    ]
