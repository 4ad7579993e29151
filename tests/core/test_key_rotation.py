"""Key rotation (issue 11): ciphertexts name their key, old keys still decrypt,
`manage.py reencrypt` rewrites everything under the current key, and the old key can then
be removed."""

import base64
import io
import os

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from django.core.management import CommandError, call_command
from django.db import connection

from accounts.models import Person
from accounts.services import find_person
from core.personal_data import (
    PERSONAL_DATA,
    UnknownKeyError,
    _derive,
    current_prefix,
    decrypt,
    encrypt,
    key_id,
)
from federation import keys as node_keys
from federation.models import NodeKey
from tests import builders

OLD = "old-personal-data-key-0123456789abcdef-rotation-test"
NEW = "new-personal-data-key-fedcba9876543210-rotation-test"
OLD_STORE = "old-key-store-key-0123456789abcdef-rotation-test"
NEW_STORE = "new-key-store-key-fedcba9876543210-rotation-test"


def _stored(person: Person, field: str) -> str:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {field} FROM accounts_person WHERE id = %s", [person.pk])
        return cursor.fetchone()[0]


@pytest.fixture
def old_keys(settings):
    settings.PERSONAL_DATA_KEY = OLD
    settings.PERSONAL_DATA_OLD_KEYS = []
    # The lookup key is pinned, so that rotating the encryption key keeps every hash valid.
    settings.PERSONAL_DATA_LOOKUP_KEY = OLD
    settings.KEY_STORE_KEY = OLD_STORE
    settings.KEY_STORE_OLD_KEYS = []
    return settings


def _rotate(settings):
    settings.PERSONAL_DATA_KEY, settings.PERSONAL_DATA_OLD_KEYS = NEW, [OLD]
    settings.KEY_STORE_KEY, settings.KEY_STORE_OLD_KEYS = NEW_STORE, [OLD_STORE]


def test_a_ciphertext_names_its_key(old_keys):
    token = encrypt("13800138000")
    assert token.startswith(f"k{key_id(OLD)}:") and token.startswith(current_prefix())
    assert key_id(OLD) != key_id(NEW) and OLD not in token


def test_old_data_stays_readable_and_new_data_takes_the_new_key(old_keys):
    person = builders.person(mobile="13900139000")
    number = person.id_number
    _rotate(old_keys)
    again = Person.objects.get(pk=person.pk)
    assert (again.id_number, again.mobile) == (number, "13900139000")
    assert _stored(person, "mobile").startswith(f"k{key_id(OLD)}:")
    again.mobile = "13700137000"
    again.save()
    assert _stored(person, "mobile").startswith(f"k{key_id(NEW)}:")
    # The lookup hash did not move with the encryption key.
    assert find_person(number) == person


def test_reencrypt_rewrites_everything_then_the_old_key_can_go(old_keys):
    people = [builders.person() for _ in range(3)]
    numbers = {p.pk: p.id_number for p in people}
    node_key = node_keys.create_key()
    signature = node_keys.sign_with(node_key, b"before")
    _rotate(old_keys)

    # Without the old key, the old data is unreadable: removing it too early fails loudly.
    old_keys.PERSONAL_DATA_OLD_KEYS = []
    with pytest.raises(UnknownKeyError):
        Person.objects.get(pk=people[0].pk)
    old_keys.PERSONAL_DATA_OLD_KEYS = [OLD]
    with pytest.raises(CommandError, match="not under the current keys"):
        call_command("reencrypt", "--check", stdout=io.StringIO())

    call_command("reencrypt", "--batch-size", "2", stdout=io.StringIO())
    for person in people:
        assert _stored(person, "id_number").startswith(f"k{key_id(NEW)}:")
    # Idempotent: a second run finds nothing to do.
    call_command("reencrypt", "--check", stdout=io.StringIO())

    old_keys.PERSONAL_DATA_OLD_KEYS, old_keys.KEY_STORE_OLD_KEYS = [], []
    assert {p.pk: p.id_number for p in Person.objects.filter(pk__in=numbers)} == numbers
    assert all(find_person(number) is not None for number in numbers.values())
    # The node's signing key was re-sealed under the new key-store key and still signs.
    stored = NodeKey.objects.get(pk=node_key.pk)
    assert stored.sealed_private_key.startswith(
        current_prefix(ring="key_store", purpose=node_keys.PURPOSE)
    )
    assert node_keys.sign_with(stored, b"after") and signature


def test_a_token_from_before_key_ids_is_read_and_rewritten(old_keys):
    person = builders.person()
    # The format before issue 11: `v1:` and no key id, the version as associated data.
    nonce = os.urandom(12)
    sealed = AESGCM(_derive(b"encrypt", OLD)).encrypt(nonce, b"13600136000", b"v1")
    legacy = "v1:" + base64.b64encode(nonce + sealed).decode()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE accounts_person SET mobile = %s WHERE id = %s", [legacy, person.pk])
    _rotate(old_keys)
    assert Person.objects.get(pk=person.pk).mobile == "13600136000"
    call_command("reencrypt", stdout=io.StringIO())
    assert _stored(person, "mobile").startswith(f"k{key_id(NEW)}:")
    old_keys.PERSONAL_DATA_OLD_KEYS = []
    assert Person.objects.get(pk=person.pk).mobile == "13600136000"


def test_no_encryption_under_an_empty_key(settings):
    from django.core.exceptions import ImproperlyConfigured

    settings.PERSONAL_DATA_KEY = ""
    with pytest.raises(ImproperlyConfigured, match="TONGBAN_PERSONAL_DATA_KEY"):
        encrypt("x")
    with pytest.raises(ImproperlyConfigured):
        decrypt("k00000000:AAAA", ring=PERSONAL_DATA)


def test_stored_files_are_sealed_again_under_the_new_key(old_keys):
    from django.core.files.base import ContentFile
    from django.core.files.storage import default_storage

    from core import blobs

    sealed_digest, sealed_path = blobs.store(b"%PDF-1.4\n% old key\n%%EOF\n", area="cases")
    clear = b"%PDF-1.4\n% before sealing\n%%EOF\n"
    clear_digest = __import__("hashlib").sha256(clear).hexdigest()
    clear_path = f"hotline/{clear_digest[:2]}/{clear_digest}"
    default_storage.save(clear_path, ContentFile(clear))  # a blob from before sealing
    _rotate(old_keys)
    assert blobs.stale_files() == sorted([sealed_path, clear_path])
    out = io.StringIO()
    with pytest.raises(CommandError):
        call_command("reencrypt", "--check", stdout=out)
    assert "stored files: 2 not under the current key" in out.getvalue()
    call_command("reencrypt", stdout=io.StringIO())
    assert blobs.stale_files() == []
    old_keys.PERSONAL_DATA_OLD_KEYS = []  # the old key is gone: both still read
    assert blobs.read(sealed_path, sealed_digest).endswith(b"% old key\n%%EOF\n")
    assert blobs.read(clear_path, clear_digest) == clear
    with default_storage.open(clear_path, "rb") as handle:
        assert b"before sealing" not in handle.read()


def test_a_file_sealed_with_a_key_no_longer_configured_is_refused_clearly(old_keys):
    from core import blobs
    from core.exceptions import RuleViolation

    digest, path = blobs.store(b"%PDF-1.4\n% lost key\n%%EOF\n", area="cases")
    old_keys.PERSONAL_DATA_KEY = NEW
    with pytest.raises(RuleViolation) as refused:
        blobs.read(path, digest)
    assert refused.value.code == "file_key_unknown"
