from pathlib import Path

import pytest
from rest_framework.test import APIClient

from accounts.models import Role
from accounts.services import token_issue
from tests.accounts.factories import UserFactory


@pytest.fixture
def media(settings, tmp_path) -> Path:
    """Uploaded files go under a var/ of the test's own, as they go under var/media on a machine."""
    root = tmp_path / "var" / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}},
    }
    return root


def client_for(user) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {token_issue(user=user)}")
    client.user = user
    return client


@pytest.fixture
def reviewer_client(agency):
    """The reviewer of the sub-project's ministry (部會管考窗口)."""
    return client_for(UserFactory(username="moda-reviewer", role=Role.REVIEWER, agency=agency))


@pytest.fixture
def other_reviewer_client(other_agency):
    return client_for(UserFactory(username="moea-reviewer", role=Role.REVIEWER, agency=other_agency))
