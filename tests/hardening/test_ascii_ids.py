"""An id in an address is ASCII digits: Python's int() also reads full-width "１" and Arabic-Indic "١" as 1,
so a route that let them through would give one object several addresses. Every route of the API and the
console with an id is found in the URL resolver, so a new one is covered without being listed here."""

import pytest
from django.test import Client
from django.urls import Resolver404, URLPattern, URLResolver, get_resolver, resolve, reverse
from django.urls.converters import IntConverter

from reviews.models import ReportStatus
from tests.accounts.factories import secretariat_user
from tests.projects.factories import PlanFactory, make_tree
from tests.reviews.factories import report_in_status

SAMPLE = "4242"  # an id that appears nowhere else in any address
NOT_ASCII = {"full-width": "１", "full-width after ASCII": "1１", "Arabic-Indic": "١"}


def _is_id(name: str, converter) -> bool:
    return isinstance(converter, IntConverter) or name in ("pk", "id") or name.endswith(("_id", "_pk"))


def _kwargs(pattern):
    converters = getattr(pattern.pattern, "converters", {})
    return {name: converters.get(name) for name in pattern.pattern.regex.groupindex}


def _routes_with_ids(patterns, prefix="", namespace="", inherited=None):
    """(view name, address with SAMPLE for each id) for every route of our own whose parameters are all ids."""
    for pattern in patterns:
        kwargs = {**(inherited or {}), **_kwargs(pattern)}
        if isinstance(pattern, URLResolver):
            if str(pattern.pattern).startswith("admin/"):
                continue  # Django's admin, which addresses its objects its own way
            inner = f"{namespace}{pattern.namespace}:" if pattern.namespace else namespace
            yield from _routes_with_ids(pattern.url_patterns, prefix + str(pattern.pattern), inner, kwargs)
        elif isinstance(pattern, URLPattern) and kwargs and all(_is_id(k, c) for k, c in kwargs.items()):
            name = f"{namespace}{pattern.name}"
            yield name, reverse(name, kwargs=dict.fromkeys(kwargs, SAMPLE))


ROUTES = dict(_routes_with_ids(get_resolver().url_patterns))


def test_the_routes_with_ids_are_found():
    assert "report-detail" in ROUTES
    assert "report-file" in ROUTES
    assert "console:report" in ROUTES
    assert "console:assessment-file-remove" in ROUTES
    assert len(ROUTES) > 50


@pytest.mark.parametrize("name", sorted(ROUTES))
def test_an_ascii_id_reaches_the_route(name):
    assert resolve(ROUTES[name].replace(SAMPLE, "1")).view_name == name


@pytest.mark.django_db
@pytest.mark.parametrize("digits", NOT_ASCII.values(), ids=NOT_ASCII.keys())
@pytest.mark.parametrize("name", sorted(ROUTES))
def test_an_id_in_other_digits_is_not_found(name, digits):
    address = ROUTES[name].replace(SAMPLE, digits)
    with pytest.raises(Resolver404):
        resolve(address)

    response = Client().get(address)

    assert response.status_code == 404
    if address.startswith("/api/"):
        assert response.json()["code"] == "not_found"
    else:
        assert response["Content-Type"].startswith("text/html")


@pytest.mark.django_db
def test_a_report_has_one_address_in_the_api_and_the_console(agency):
    # given
    _, _, _, (subproject,) = make_tree(PlanFactory(), lead_agency=agency)
    report = report_in_status(node=subproject, status=ReportStatus.SUBMITTED)
    client = Client()
    client.force_login(secretariat_user("ids-secretariat"))
    full_width = str(report.pk).translate(str.maketrans("0123456789", "０１２３４５６７８９"))

    # then
    for address in ("/api/v1/reports/{}/", "/reports/{}/", "/api/v1/reports/{}/files/"):
        assert client.get(address.format(report.pk)).status_code == 200, address
        assert client.get(address.format(full_width)).status_code == 404, address
