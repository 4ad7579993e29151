import pytest


@pytest.fixture(autouse=True)
def _db_for_all(db):
    """Every test here touches the database; migrations seed divisions and the calendar."""
