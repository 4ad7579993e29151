"""Where a resource's answers come from: one `Source` per adapter name, chosen by the
resource (`DataResource.adapter`). Local sources read the node's own data — the people and
companies of `accounts`, the licence library, a department's records kept here — and the
HTTP source asks a department system. A higher app adds its own (the cases app registers
`cases`) in its `AppConfig.ready()` with `register_source`.

A source answers `lookup(resource, subject)` with the subject's whole record (field name →
value) or None when it has none; it raises `SourceUnavailable` when it cannot answer now.
Which fields may leave is decided by the caller (`sharing/calls.py`), never here."""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from typing import Any, Protocol

from django.utils import timezone

from core.personal_data import lookup_hash
from core.registry import Registry
from sharing.subjects import Subject

# A `sharing.models.DataResource` (which imports this module for its adapter names).
DataResource = Any


class SourceUnavailable(Exception):
    """The data source cannot answer now (a department system or a node is down)."""


class Source(Protocol):
    label: str

    def lookup(self, resource: DataResource, subject: Subject) -> dict[str, Any] | None: ...


SOURCES: Registry[Source] = Registry("sharing source")


def register_source(name: str, source: Source) -> None:
    SOURCES.register(name, source)


class RecordsSource:
    """A department's records kept on this node (`SharedRecord`), e.g. the household
    register or the marriage register: the complete local counterpart of `HttpSource`."""

    label = "部门数据（本节点）"

    def lookup(self, resource: DataResource, subject: Subject) -> dict[str, Any] | None:
        record = resource.records.filter(subject_hash=subject.hash).first()
        return dict(record.data) if record is not None else None


class PersonsSource:
    """The people registered on this node (accounts): name and real-name verification."""

    label = "自然人库"

    def lookup(self, resource: DataResource, subject: Subject) -> dict[str, Any] | None:
        from accounts.models import Person

        person = Person.objects.filter(id_number_hash=subject.hash).first()
        if person is None:
            return None
        return {
            "name": person.name,
            "real_name_verified": person.real_name_verified_at is not None,
        }


class CompaniesSource:
    """The companies registered on this node (accounts)."""

    label = "法人库"

    def lookup(self, resource: DataResource, subject: Subject) -> dict[str, Any] | None:
        from accounts.models import Company

        company = Company.objects.filter(uscc=subject.code).first()
        if company is None:
            return None
        return {"name": company.name, "legal_representative": company.legal_representative}


class LicencesSource:
    """The licence library: whether the subject holds a valid licence of the type the
    resource names (`adapter_config["licence_type"]`), and its number and term."""

    label = "电子证照库"

    def lookup(self, resource: DataResource, subject: Subject) -> dict[str, Any] | None:
        from licences.models import Licence
        from licences.selectors import effective_status

        type_code = resource.adapter_config.get("licence_type", "")
        licences = Licence.objects.filter(
            holder_code_hash=lookup_hash(subject.code), licence_type__code=type_code
        ).select_related("seal", "licence_type")
        today = timezone.localdate()
        valid = [lic for lic in licences if effective_status(lic, today=today)[0] == "valid"]
        if not valid:
            return {"holds_valid_licence": False} if licences else None
        licence = max(valid, key=lambda lic: lic.issued_at)
        return {
            "holds_valid_licence": True,
            "licence_number": licence.number,
            "holder_name": licence.holder_name,
            "valid_until": str(licence.valid_until or ""),
        }


class HttpSource:
    """A department system over HTTP: `POST {base_url}/records` with the resource code,
    the subject's kind and code; 200 with `{"record": {...}}`, 404 when it has none. The
    bearer key comes from the environment variable the resource names (`api_key_env`), so
    no secret sits in the catalog."""

    label = "部门系统接口"

    def lookup(self, resource: DataResource, subject: Subject) -> dict[str, Any] | None:
        config = resource.adapter_config
        base_url = str(config.get("base_url", "")).rstrip("/")
        if not base_url:
            raise SourceUnavailable("未配置部门系统地址")
        body = json.dumps(
            {"resource": resource.code, "subject_kind": subject.kind, "subject": subject.code}
        ).encode()
        request = urllib.request.Request(
            base_url + "/records",
            data=body,
            method="POST",
            headers={"Content-Type": "application/json", "Accept": "application/json"},
        )
        key = (
            os.environ.get(str(config.get("api_key_env", "")), "")
            if config.get("api_key_env")
            else ""
        )
        if key:
            request.add_header("Authorization", f"Bearer {key}")
        try:
            with urllib.request.urlopen(request, timeout=float(config.get("timeout", 5))) as answer:
                data = json.loads(answer.read(1_000_000))
        except urllib.error.HTTPError as exc:
            if exc.code == 404:
                return None
            raise SourceUnavailable(f"部门系统答复 HTTP {exc.code}") from exc
        except (urllib.error.URLError, OSError, ValueError) as exc:
            raise SourceUnavailable("部门系统无法连接") from exc
        record = data.get("record") if isinstance(data, dict) else None
        if not isinstance(record, dict):
            raise SourceUnavailable("部门系统的答复格式不对")
        return record


_LOCAL: dict[str, Source] = {
    "records": RecordsSource(),
    "persons": PersonsSource(),
    "companies": CompaniesSource(),
    "licences": LicencesSource(),
    "http": HttpSource(),
}
for _name, _source in _LOCAL.items():
    register_source(_name, _source)
