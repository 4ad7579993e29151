import pytest


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
