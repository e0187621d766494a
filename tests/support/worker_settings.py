"""``gstp.settings`` for a Celery worker a test starts, with two values a test must be able to choose.

* ``GSTP_TEST_VISIBILITY_TIMEOUT``: seconds after which Redis hands a message a worker took but never
  acknowledged (it was killed) to the next worker that starts. Production waits an hour; a test cannot.
* ``GSTP_TEST_EMAIL_DIR``: where Django's file-based email backend writes what the worker sends, so a test
  can count the emails of several workers, one after the other.

Everything else is the production configuration, read from the environment as usual.
"""

import os

from gstp.settings import *  # noqa: F403
from gstp.settings import CELERY_BROKER_TRANSPORT_OPTIONS

if os.environ.get("GSTP_TEST_VISIBILITY_TIMEOUT"):
    CELERY_BROKER_TRANSPORT_OPTIONS = {
        **CELERY_BROKER_TRANSPORT_OPTIONS,
        "visibility_timeout": float(os.environ["GSTP_TEST_VISIBILITY_TIMEOUT"]),
    }
if os.environ.get("GSTP_TEST_EMAIL_DIR"):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = os.environ["GSTP_TEST_EMAIL_DIR"]
