"""The data-sharing demo (docs/sharing.md), made through the sharing services; running it
again changes nothing.

On the Liaoning node:

- the catalog: 居民户籍信息 and 人口基础信息 (辽宁省公安厅), 婚姻登记信息 (辽宁省民政厅),
  企业营业执照 (辽宁省市场监督管理局, from the licence library), 涉密 data never listed;
- the department records behind the local adapter: the household registration of every
  demo citizen, the marriage registration of two of them;
- grants: 沈阳市公安局 may verify household registration and identity (开具户籍类证明's
  居民身份证 carries the code: it completes online without an upload once the applicant
  consents), 沈阳市民政局 the same for 结婚登记 at the window, 大连市民政局 may verify
  marriages (离婚登记's 结婚证);
- one request waiting for review, so the queue is not empty.

Across nodes, once the four run (`load_demo_remote_sharing`, step 4 of scripts/run-nodes,
Jilin first, then Liaoning): 长春市公安局 of the Jilin node asks Liaoning for household
registration the way a department does on /sharing/remote/ (`exchange.file_remote_request`
→ a `sharing.request` envelope, delivered at once), and Liaoning's 辽宁省公安厅 approves it;
the grant goes back as `sharing.granted`. 户口迁移（迁入）'s 迁出地居民户口簿 is then
verified with Liaoning when the Jilin window clerk does the formal check for 王芳 (ID
number 210202198805120245, registered in 大连); with the Liaoning node stopped, the clerk
is asked to upload it.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.db import transaction

from accounts.models import Person
from core.models import Organisation
from demo.users import ACTOR
from sharing import engine, services
from sharing.models import DataResource, Grant, SharingRequest
from sharing.subjects import subject_of

GRANT_UNTIL = dt.date(2027, 12, 31)
CHANGCHUN_POLICE = {"uscc": "11220100001325601D", "name": "长春市公安局", "division": "220100"}
# 户口迁移（迁入） of 长春市公安局 on the Jilin node: the scene of its request.
JILIN_MOVE_IN = "070010100000-220100000000-000-11220100001325601D-3-00"

HOUSEHOLD: dict[str, Any] = {
    "code": "LN-GA-HJ-001",
    "name": "居民户籍信息",
    "provider": "11210000000011010D",
    "subject_kind": "person",
    "fields": [
        {"name": "name", "label": "姓名", "type": "string", "sensitivity": "personal"},
        {
            "name": "household_division",
            "label": "户籍所在地区划",
            "type": "division",
            "sensitivity": "personal",
        },
        {
            "name": "household_address",
            "label": "户籍地址",
            "type": "string",
            "sensitivity": "sensitive",
        },
    ],
    "sharing_class": "conditional",
    "legal_basis": "《中华人民共和国户口登记条例》；《政务信息资源共享管理暂行办法》第九条",
    "update_frequency": "realtime",
    "methods": ["verify", "query"],
    "adapter": "records",
    "material_codes": ["HJ-HKB"],
    "adapter_config": {"verify_field": "household_division"},
}
PEOPLE = {
    "code": "LN-GA-RK-001",
    "name": "人口基础信息（身份核验）",
    "provider": "11210000000011010D",
    "subject_kind": "person",
    "fields": [
        {"name": "name", "label": "姓名", "type": "string", "sensitivity": "personal"},
        {
            "name": "real_name_verified",
            "label": "已实名核验",
            "type": "boolean",
            "sensitivity": "internal",
        },
    ],
    "sharing_class": "conditional",
    "legal_basis": "《居民身份证法》第十三条",
    "update_frequency": "realtime",
    "methods": ["verify"],
    "adapter": "persons",
    "material_codes": ["SF-JMSFZ"],
    "adapter_config": {"verify_field": "name"},
}
MARRIAGE = {
    "code": "LN-MZ-HY-001",
    "name": "婚姻登记信息",
    "provider": "112100000000110375",
    "subject_kind": "person",
    "fields": [
        {"name": "married", "label": "已登记结婚", "type": "boolean", "sensitivity": "personal"},
        {"name": "registered_on", "label": "登记日期", "type": "date", "sensitivity": "personal"},
    ],
    "sharing_class": "conditional",
    "legal_basis": "《婚姻登记条例》第五条",
    "update_frequency": "daily",
    "methods": ["verify"],
    "adapter": "records",
    "material_codes": ["HY-JHZ"],
    "adapter_config": {"verify_field": "married"},
}
BUSINESS_LICENCE = {
    "code": "LN-SCJG-YYZZ-001",
    "name": "企业营业执照信息",
    "provider": "11210000MB1526413H",
    "subject_kind": "company",
    "fields": [
        {
            "name": "holds_valid_licence",
            "label": "持有有效营业执照",
            "type": "boolean",
            "sensitivity": "public",
        },
        {"name": "licence_number", "label": "执照编号", "type": "string", "sensitivity": "public"},
        {"name": "valid_until", "label": "有效期至", "type": "date", "sensitivity": "public"},
    ],
    "sharing_class": "unconditional",
    "legal_basis": "",
    "update_frequency": "realtime",
    "methods": ["verify", "query", "bulk"],
    "adapter": "licences",
    "material_codes": ["YY-ZZ"],
    "adapter_config": {
        "licence_type": "11100000MB1967458T001",
        "verify_field": "holds_valid_licence",
    },
}
MARRIED = {"王芳": "2014-05-20", "刘洋": "2019-10-01"}


def _org(uscc: str) -> Organisation:
    return Organisation.objects.get(uscc=uscc)


def _resource(spec: dict[str, Any]) -> DataResource:
    existing = DataResource.objects.filter(code=spec["code"]).first()
    if existing is not None:
        return existing
    return services.register_resource(**{**spec, "provider": _org(spec["provider"])}, actor=ACTOR)


def _grant(
    resource: DataResource,
    consumer: Organisation,
    fields: list[str],
    purpose: str,
) -> Grant:
    existing = Grant.objects.filter(resource=resource, consumer=consumer).first()
    if existing is not None:
        return existing
    request = services.submit_request(
        resource=resource,
        consumer=consumer,
        fields=fields,
        methods=["verify"],
        purpose=purpose,
        legal_basis=resource.legal_basis or "《政务信息资源共享管理暂行办法》",
        valid_until=GRANT_UNTIL,
        actor=ACTOR,
    )
    request = engine.PROCESS.act(request, "approve", actor=_provider_reviewer(resource))
    return Grant.objects.get(request=request)


def _provider_reviewer(resource: DataResource) -> Any:
    from accounts.models import Role, StaffRole

    role = (
        StaffRole.objects.filter(organisation=resource.provider, role=Role.REVIEWER)
        .select_related("user")
        .first()
    )
    if role is None:
        raise RuntimeError(f"演示数据缺少 {resource.provider.name} 的审查人员")
    return role.user


@transaction.atomic
def _liaoning() -> int:
    household, people, marriage = _resource(HOUSEHOLD), _resource(PEOPLE), _resource(MARRIAGE)
    _resource(BUSINESS_LICENCE)
    made = 0
    for person in Person.objects.all():
        subject = subject_of("person", person.id_number)
        if not household.records.filter(subject_hash=subject.hash).exists():
            services.put_record(
                household,
                subject=subject,
                data={
                    "name": person.name,
                    "household_division": person.id_number[:6],
                    "household_address": "演示地址（户籍登记簿记载）",
                },
                actor=ACTOR,
            )
            made += 1
        if (
            person.name in MARRIED
            and not marriage.records.filter(subject_hash=subject.hash).exists()
        ):
            services.put_record(
                marriage,
                subject=subject,
                data={"married": True, "registered_on": MARRIED[person.name]},
                actor=ACTOR,
            )
    shenyang_police = _org("11210100001234501H")
    _grant(household, shenyang_police, ["household_division"], "户口迁移、户籍证明核验户籍")
    _grant(people, shenyang_police, ["name"], "开具户籍类证明等事项核验申请人身份")
    shenyang_civil = _org("112101000012345364")
    dalian_civil = _org("112102000024187145")
    _grant(household, shenyang_civil, ["household_division"], "结婚登记核验双方户籍")
    _grant(people, shenyang_civil, ["name"], "结婚登记核验双方身份")
    _grant(marriage, dalian_civil, ["married"], "离婚登记核验婚姻登记")
    if not SharingRequest.objects.filter(resource=marriage, state="under_review").exists():
        services.submit_request(
            resource=marriage,
            consumer=_org("11210100001234501H"),
            fields=["married"],
            methods=["verify"],
            purpose="户口迁移（夫妻投靠）核验婚姻关系",
            legal_basis="《婚姻登记条例》第五条",
            valid_until=GRANT_UNTIL,
            actor=ACTOR,
        )
    return made


def _file_jilin_request() -> int:
    """Jilin: 长春市公安局 asks Liaoning for household registration through the same
    service as the remote page, unless it already did (and was not turned away); the
    outbox is delivered at once (Liaoning answers by then). 0 or 1 requests filed."""
    from federation.services import deliver_due
    from sharing.exchange import file_remote_request
    from sharing.models import RemoteRequest, RemoteRequestStatus

    police = _org(CHANGCHUN_POLICE["uscc"])
    filed = RemoteRequest.objects.filter(
        consumer=police, provider_node="liaoning", resource_code=HOUSEHOLD["code"]
    ).exclude(status=RemoteRequestStatus.REJECTED)
    if filed.exists():
        return 0
    approver = get_user_model().objects.get(username="cc-gaj-approver")
    file_remote_request(
        node="liaoning",
        resource_code=HOUSEHOLD["code"],
        consumer=police,
        fields=["household_division"],
        methods=["verify"],
        purpose="户口迁入（跨省）核验迁出地户籍",
        legal_basis="《中华人民共和国户口登记条例》第十条",
        valid_until=GRANT_UNTIL,
        scene_items=[JILIN_MOVE_IN],
        actor=approver,
    )
    deliver_due()
    return 1


def _approve_jilin_requests() -> int:
    """Liaoning: 辽宁省公安厅 approves the demo requests of 长春市公安局 waiting for its
    review, and announces the grants at once. Returns how many it approved."""
    from federation.services import deliver_due
    from sharing.exchange import send_grant_notices

    waiting = SharingRequest.objects.filter(
        consumer__uscc=CHANGCHUN_POLICE["uscc"],
        consumer_node="jilin",
        state="under_review",
        resource__code=HOUSEHOLD["code"],
    ).select_related("resource__provider")
    approved = 0
    for request in waiting:
        engine.take_action(request, "approve", actor=_provider_reviewer(request.resource))
        approved += 1
    if approved:
        send_grant_notices()
        deliver_due()
    return approved


def load_demo_remote_sharing() -> int:
    """The part of the sharing demo that needs the federation running: on Jilin, file the
    request with Liaoning; on Liaoning, approve it. Run on Jilin first."""
    if settings.NODE_ID == "jilin":
        return _file_jilin_request()
    if settings.NODE_ID == "liaoning":
        return _approve_jilin_requests()
    return 0


def load_demo_sharing() -> int:
    """The sharing demo of this node; returns how many records or grants were made."""
    if settings.NODE_ID == "liaoning":
        return _liaoning()
    return 0
