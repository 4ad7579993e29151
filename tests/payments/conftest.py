import pytest


@pytest.fixture(autouse=True)
def _local_adapters(settings):
    settings.TONGBAN_ADAPTERS = {
        **settings.TONGBAN_ADAPTERS,
        "carrier": "delivery.carriers.LocalCarrier",
        "payment": "payments.gateways.LocalGateway",
    }
    settings.DELIVERY_RESULT_POSTAGE = "0"
