from pathlib import Path

import pytest


@pytest.fixture
def media(settings, tmp_path) -> Path:
    """Uploaded files go under a var/ of the test's own, as they go under var/media on a machine."""
    root = tmp_path / "var" / "media"
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.FileSystemStorage", "OPTIONS": {"location": str(root)}},
    }
    return root
