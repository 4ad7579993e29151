from django.apps import AppConfig


class CasesConfig(AppConfig):
    """Floor 4: applications (办件), workflow definitions and engine, deadlines, supplements,
    容缺受理, 告知承诺, the timeline and the archive."""

    name = "cases"
    verbose_name = "办件"

    def ready(self) -> None:
        from django.conf import settings

        from cases import (
            bundles,
            commitments,
            engine,
            inbound,
            joint,
            materials,
            outbound,
            payment,
            results,
            services,
            shipping,
        )
        from cases.tasks import scan_deadlines
        from cases.workflow import PAYLOAD_OFFERED, register_effect
        from core import scheduler
        from core.process import Effect
        from delivery import registry as delivery_registry
        from payments import registry as payments_registry

        # The effects the workflow definitions name (cases/workflows/*.json).
        for name, effect in {
            "require_materials": Effect(materials.require_materials),
            "mark_submitted": Effect(services.mark_submitted),
            "forward_to_handling_node": Effect(outbound.forward_to_handling_node, after=True),
            "record_supplement_request": Effect(services.request_supplement),
            "fulfil_supplement": Effect(services.fulfil_supplement),
            "check_special_procedure": Effect(services.check_special_procedure),
            "schedule_commitment_verification": Effect(
                commitments.schedule_commitment_verification
            ),
            "issue_licence": Effect(results.issue_result_licence),
            "deliver_result": Effect(shipping.deliver_result),
            "withhold_result_if_deficient": Effect(commitments.withhold_result_if_deficient),
            "record_outcome_note": Effect(services.record_outcome_note),
            "revoke_result": Effect(commitments.revoke_result),
            "create_steps": Effect(joint.create_steps),
            "start_steps": Effect(joint.start_steps, after=True),
            "require_steps_finished": Effect(joint.require_steps_finished),
            "hold_for_payment": Effect(payment.hold_for_payment, after=True),
            "open_payment": Effect(payment.open_payment),
            "require_paid": Effect(payment.require_paid),
            "refund_payment": Effect(payment.refund_payment),
        }.items():
            register_effect(name, effect)
        inbound.register()
        from cases import sharing as case_sharing
        from sharing.calls import register_case_check

        register_case_check("cases", case_sharing.case_concerns)
        # 一件事: a sub-case decided moves its bundle case on (cases/bundles.py).
        engine.on_transition("bundles", bundles.on_case_transition)
        delivery_registry.on_status_change(shipping.on_shipment_status)
        payments_registry.on_paid(payment.payment_settled)
        PAYLOAD_OFFERED.register("fee_assessment", payment.fee_assessable)
        scheduler.register_periodic(
            "cases.scan_deadlines", settings.DEADLINE_SCAN_SECONDS, scan_deadlines
        )
