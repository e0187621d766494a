"""Helpers for tests that run real servers: Redis and Celery worker processes, a hung TCP server, an HTTP
receiver for webhooks, pointing the Celery app at another broker, a throw-away PostgreSQL cluster, and GSTP
served by gunicorn; data a test module builds once for its tests. Tests import them; no fixtures here."""
