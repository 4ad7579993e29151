from tests.federation.conftest import federation  # noqa: F401 - a fixture shared with these tests
