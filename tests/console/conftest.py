"""Data for the console's pages: the same world as the portal's case pages."""

from __future__ import annotations

import pytest

from tests.case_pages import World, build_world
from tests.portal.test_browser import browser_page  # noqa: F401  (the browser tests' fixture)


@pytest.fixture
def world() -> World:
    return build_world()
