"""Data built once for a test module and shared by its tests, each of which still starts from it untouched.

A fixture of module scope builds the data inside ``data_for_the_module(django_db_blocker)``: a transaction that
is rolled back after the module's last test. pytest-django's ``db`` runs each test in a savepoint inside it,
rolled back when the test ends, so whatever a test writes is gone before the next one starts, as when every test
built the data itself. Every test of the module sees the data: a test that needs an empty database, or commits
(``transactional_db``), belongs in another module.
"""

from contextlib import contextmanager

from django.db import connection, transaction
from django.test import override_settings

# Passwords are hashed quickly in tests (tests/conftest.py); data built for a module is hashed the same way, so
# its users sign in with their passwords.
TEST_PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@contextmanager
def data_for_the_module(django_db_blocker):
    with django_db_blocker.unblock(), override_settings(PASSWORD_HASHERS=TEST_PASSWORD_HASHERS):
        # Opened inside a test's transaction, it would outlive the rollback meant to undo that test: a module's
        # fixture must be asked for by name by the module's tests (pytest sets those up before the test's own).
        assert not connection.in_atomic_block, "module data must be set up before a test's transaction opens"
        with transaction.atomic():
            yield
            transaction.set_rollback(True)
