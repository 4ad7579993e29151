from tests.federation.conftest import federation  # noqa: F401 - the signed test directory
