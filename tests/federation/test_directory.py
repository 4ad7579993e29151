import datetime as dt
import json

import pytest
from django.utils import timezone

from core.exceptions import RuleViolation
from federation import directory
from federation.models import DirectoryCopy
from tests.federation.support import Authority


def test_the_signed_directory_is_in_force(federation):
    current = directory.current()
    assert set(current.nodes) == {"liaoning", "jilin"}
    assert current.federation == "东北三省一区"
    assert current.node("jilin").key(current.node("jilin").keys[0].kid) is not None


def test_a_directory_signed_by_another_authority_is_refused(federation):
    stranger = Authority()
    stranger.write(federation.directory_file, [federation.local_entry()], serial=2)
    with pytest.raises(RuleViolation) as refused:
        directory.refresh()
    assert refused.value.code == "directory_invalid"
    assert directory.current().serial == 1


def test_a_tampered_directory_is_refused(federation):
    signed = federation.authority.signed(
        [federation.local_entry(), federation.jilin.entry()], serial=2
    )
    signed["directory"] = signed["directory"].replace("jilin 节点", "evil 节点")
    federation.directory_file.write_text(json.dumps(signed, ensure_ascii=False))
    with pytest.raises(RuleViolation) as refused:
        directory.refresh()
    assert refused.value.code == "directory_invalid"
    assert DirectoryCopy.objects.count() == 1


def test_an_older_directory_never_replaces_a_newer_one(federation):
    federation.publish([federation.local_entry(), federation.jilin.entry()], serial=5)
    federation.authority.write(federation.directory_file, [federation.local_entry()], serial=4)
    with pytest.raises(RuleViolation) as refused:
        directory.refresh()
    assert refused.value.code == "directory_rollback"
    assert directory.current().serial == 5


def test_the_cached_copy_serves_while_the_source_is_unreachable(federation, settings):
    settings.FEDERATION_DIRECTORY = "http://127.0.0.1:9/federation/v1/directory"
    assert directory.refresh() is None
    assert directory.current().serial == 1


def test_an_expired_directory_stops_the_exchange(federation):
    later = timezone.now() + dt.timedelta(days=31)
    with pytest.raises(directory.DirectoryUnavailable, match="过期"):
        directory.current(at=later)


def test_a_key_whose_fingerprint_does_not_match_is_refused(federation):
    entry = federation.jilin.entry()
    entry["keys"][0]["kid"] = "0" * 64
    federation.authority.write(
        federation.directory_file, [federation.local_entry(), entry], serial=2
    )
    with pytest.raises(RuleViolation, match="指纹"):
        directory.refresh()


def test_the_directory_is_fetched_over_http_from_another_node(
    federation, client, settings, live_server
):
    settings.FEDERATION_DIRECTORY = f"{live_server.url}/federation/v1/directory"
    response = client.get("/federation/v1/directory")
    assert response.status_code == 200
    assert directory.refresh().serial == 1
