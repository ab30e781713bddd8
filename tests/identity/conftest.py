"""Identity tests use the shared fixtures of tests/conftest.py."""

from tests.conftest import NOTICE_PARTS_EN, years_ago

__all__ = ["NOTICE_PARTS_EN", "years_ago"]
