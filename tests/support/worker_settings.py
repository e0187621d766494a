"""``gstp.settings`` for a Celery worker a test starts, with one value a test must be able to choose.

* ``GSTP_TEST_EMAIL_DIR``: where Django's file-based email backend writes what the worker sends, so a test
  can count the emails of several workers, one after the other.

The visibility timeout (seconds after which Redis hands a message a worker took but never acknowledged to
another worker) is production's setting, ``GSTP_BROKER_VISIBILITY_TIMEOUT``, which a test sets short.
Everything else is the production configuration, read from the environment as usual.
"""

import os

from gstp.settings import *  # noqa: F403

if os.environ.get("GSTP_TEST_EMAIL_DIR"):
    EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
    EMAIL_FILE_PATH = os.environ["GSTP_TEST_EMAIL_DIR"]
