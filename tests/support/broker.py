"""Pointing the Celery app at another broker for a while, and reading what reached a Redis broker.

Celery reads the broker URL from the ``CELERY_BROKER_URL`` environment variable before its own
configuration (``celery.app.utils.Settings.broker_url``), and keeps connection and producer pools
once it has connected. So ``use_broker`` sets the variable, the app's configuration and Django's
settings together, and closes the pools on the way in and out.
"""

from __future__ import annotations

import base64
import json
import os
import runpy
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from unittest import mock

import kombu.pools

SETTINGS_FILE = Path(__file__).resolve().parent.parent.parent / "gstp" / "settings.py"
BROKER_VARIABLES = ("CELERY_BROKER_URL", "CELERY_BROKER_READ_URL", "CELERY_BROKER_WRITE_URL")


def settings_for_broker(url: str) -> dict:
    """What ``gstp/settings.py`` configures when the environment names ``url`` as the broker
    (``CELERY_BROKER_URL`` and ``CELERY_BROKER_TRANSPORT_OPTIONS``): the production values, whatever this test
    process was started with."""
    with mock.patch.dict(os.environ, {"CELERY_BROKER_URL": url}):
        namespace = runpy.run_path(str(SETTINGS_FILE))
    return {
        "CELERY_BROKER_URL": namespace["CELERY_BROKER_URL"],
        "CELERY_BROKER_TRANSPORT_OPTIONS": namespace["CELERY_BROKER_TRANSPORT_OPTIONS"],
    }


def reset_broker_connections(app) -> None:
    """Drop the app's connection and producer pools (and kombu's global ones): the next publish connects anew."""
    pool, app._pool = app._pool, None
    amqp = app.__dict__.get("amqp")
    if amqp is not None:
        amqp._producer_pool = None
    if pool is not None:
        try:
            pool.force_close_all()
        except Exception:  # a dead broker's connections may fail to close; they are dropped all the same
            pass
    kombu.pools.reset()


@contextmanager
def use_broker(url: str, *, django_settings=None):
    """Publish to ``url`` (with the transport options gstp/settings.py gives it) inside the block.

    ``django_settings`` is pytest-django's ``settings`` fixture, to change ``settings.CELERY_BROKER_*`` too.
    """
    from gstp.celery import app

    wanted = settings_for_broker(url)
    saved_env = {name: os.environ.get(name) for name in BROKER_VARIABLES}
    saved_conf = {key: app.conf[key] for key in ("broker_url", "broker_transport_options")}
    reset_broker_connections(app)
    for name in BROKER_VARIABLES:
        os.environ.pop(name, None)
    os.environ["CELERY_BROKER_URL"] = url
    app.conf["broker_url"] = url
    app.conf["broker_transport_options"] = wanted["CELERY_BROKER_TRANSPORT_OPTIONS"]
    if django_settings is not None:
        django_settings.CELERY_BROKER_URL = url
        django_settings.CELERY_BROKER_TRANSPORT_OPTIONS = wanted["CELERY_BROKER_TRANSPORT_OPTIONS"]
    try:
        yield app
    finally:
        reset_broker_connections(app)
        for name, value in saved_env.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        for key, value in saved_conf.items():
            app.conf[key] = value


@dataclass(frozen=True)
class QueuedTask:
    id: str
    task: str
    kwargs: dict


def queued_tasks(client, queue: str = "celery") -> list[QueuedTask]:
    """The task messages waiting in a Redis broker's ``queue`` list, oldest first (kombu pushes on the left)."""
    tasks = []
    for raw in reversed(client.lrange(queue, 0, -1)):
        message = json.loads(raw)
        body = message["body"]
        if message.get("properties", {}).get("body_encoding") == "base64":
            body = base64.b64decode(body)
        _args, kwargs, _embed = json.loads(body)
        tasks.append(QueuedTask(id=message["headers"]["id"], task=message["headers"]["task"], kwargs=kwargs))
    return tasks
