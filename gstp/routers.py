"""The API's router, and the patterns ids in API addresses are matched with."""

from django.urls import register_converter
from rest_framework.routers import SimpleRouter

# ASCII digits only. Python's int(), and with it Django's and DRF's lookups, also reads full-width "１" and
# Arabic-Indic "١" as 1, which would give one object several addresses. Eighteen digits fit a bigint.
ID_PATTERN = "[0-9]{1,18}"


class IdConverter:
    """``<id:pk>``: a row's id (``PATH_CONVERTER_OVERRIDES`` tells the schema it is an integer)."""

    # Any length: an id too large for the database reaches the view, which answers it as any missing id.
    regex = "[0-9]+"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value) -> str:
        return str(value)


register_converter(IdConverter, "id")


class ApiRouter(SimpleRouter):
    """DRF's router with detail routes that match only ids (``<id:pk>``), unless a viewset names its own
    ``lookup_value_converter``; DRF's default would match any text up to the next slash."""

    def __init__(self, trailing_slash=True):
        super().__init__(trailing_slash=trailing_slash, use_regex_path=False)

    def get_lookup_regex(self, viewset, lookup_prefix=""):
        lookup_field = getattr(viewset, "lookup_field", "pk")
        lookup_url_kwarg = getattr(viewset, "lookup_url_kwarg", None) or lookup_field
        converter = getattr(viewset, "lookup_value_converter", "id")
        return f"<{converter}:{lookup_prefix}{lookup_url_kwarg}>"
