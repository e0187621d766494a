"""The API's router, and the one pattern every id in an API address is matched with."""

from rest_framework.routers import SimpleRouter

# ASCII digits only. Python's int(), and with it Django's and DRF's lookups, also reads full-width "１" and
# Arabic-Indic "١" as 1, which would give one object several addresses. Eighteen digits fit a bigint.
ID_PATTERN = "[0-9]{1,18}"


class ApiRouter(SimpleRouter):
    """DRF's router with detail routes that match only ids (``ID_PATTERN``), unless a viewset names its own
    ``lookup_value_regex``; DRF's default would match any text up to the next slash."""

    def get_lookup_regex(self, viewset, lookup_prefix=""):
        lookup_field = getattr(viewset, "lookup_field", "pk")
        lookup_url_kwarg = getattr(viewset, "lookup_url_kwarg", None) or lookup_field
        lookup_value = getattr(viewset, "lookup_value_regex", ID_PATTERN)
        return f"(?P<{lookup_prefix}{lookup_url_kwarg}>{lookup_value})"
