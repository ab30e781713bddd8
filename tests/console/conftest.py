"""The translation checks' fixtures (tests/test_translations.py), for the
console pages' own checks."""

from tests.test_translations import compiled_catalogue, shop  # noqa: F401
