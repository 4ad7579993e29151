import pytest

from tests import database_template


@pytest.fixture(scope="session")
def django_db_setup(
    request, django_test_environment, django_db_blocker, django_db_modify_db_settings
):
    """Every session starts from a fresh copy of the migrated template (see
    tests/database_template.py) instead of migrating its own database; the copy is
    dropped at the end, as Django drops the test database it creates."""
    from django.db import connections
    from django.test.utils import setup_databases, teardown_databases

    verbosity = request.config.option.verbose
    with django_db_blocker.unblock():
        for connection in connections.all():
            database_template.prepare(
                connection.creation._get_test_db_name(), connection.settings_dict
            )
        # keepdb: use the copy as it is; migrate then finds nothing to do.
        db_cfg = setup_databases(verbosity=verbosity, interactive=False, keepdb=True)
    yield
    with django_db_blocker.unblock():
        teardown_databases(db_cfg, verbosity=verbosity)


@pytest.fixture(autouse=True)
def _db_for_all(db):
    """Every test here touches the database; migrations seed divisions and the calendar."""


@pytest.fixture(autouse=True)
def _private_media(settings, tmp_path):
    """Uploaded case materials go to a per-test folder, not the node's var/media."""
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture(autouse=True)
def _fast_password_hashing(settings):
    """Test accounts need no brute-force resistance; real hashing would dominate the run."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def _empty_cache():
    """Rate-limit counters (core.throttle) live in the cache: each test starts with none."""
    from django.core.cache import cache

    cache.clear()
    yield
    cache.clear()
