"""Fixtures of the reviews tests: ``media`` (uploaded files under a var/ of the test's own) and the ministry
reviewers' clients are in tests/conftest.py."""
