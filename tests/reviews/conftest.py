"""Fixtures of the reviews tests: ``media`` (uploaded files under a var/ of the test's own) is in tests/conftest.py."""
