"""Fixtures of the reviews tests: ``media`` (uploaded files under a var/ of the test's own) and the ministry
reviewers' clients are in tests/conftest.py."""

import pytest

from .factories import REPORT_KINDS


@pytest.fixture(params=REPORT_KINDS)
def report_kind(request):
    """Each kind of report in turn, for the tests of what quarterly reports and monthly updates share: a
    module's sub-project fixture makes its sub-project report so (``factories.of_kind``)."""
    return request.param
