from tests.federation.conftest import federation  # noqa: F401 - the signed test directory
from tests.ratings.conftest import world  # noqa: F401 - a case taken to its end, with staff
