from tests.federation.conftest import federation  # noqa: F401 - a fixture shared with these tests
from tests.licences.test_cross_node import issuer, world  # noqa: F401 - fixtures of another node's licences
