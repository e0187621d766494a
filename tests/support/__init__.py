"""Helpers for tests that run real servers: Redis and Celery worker processes, a hung TCP server, an HTTP
receiver for webhooks, and pointing the Celery app at another broker. Tests import them; no fixtures here."""
