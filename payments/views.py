"""The local gateway's cashier (收银台): the page the platform's cashier would be.

It exists only while the local gateway is the configured one. Paying there makes the local
gateway sign a payment notice and hands it to `services.receive_notice`, exactly as the
platform's notice arrives through the API; the applicant is then sent back to the page
they came from (only a path on this node).
"""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods

from core.exceptions import RuleViolation
from payments import selectors, services
from payments.gateways import LocalGateway, gateway


def _return_url(request: HttpRequest) -> str:
    target = request.POST.get("return") or request.GET.get("return") or "/"
    if not target.startswith("/") or not url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}
    ):
        return "/"
    return target


@require_http_methods(["GET", "POST"])
def local_cashier(request: HttpRequest, order_number: str) -> HttpResponse:
    adapter = gateway()
    payment = selectors.payment_by_order(order_number)
    if not isinstance(adapter, LocalGateway) or payment is None:
        raise Http404("没有这笔订单")
    return_url = _return_url(request)
    error = None
    if request.method == "POST":
        # Like the platform's cashier, it takes the money for an order not yet paid here,
        # whatever the node then answers: a payment settled at the window meanwhile is
        # paid twice, and 对账 finds and refunds the second one (decision 274).
        if not adapter.has_taken(payment.order_number):
            body, signature = adapter.take_payment(payment.order_number, payment.amount_text)
            try:
                services.receive_notice(body, signature, gateway_code=adapter.code)
            except RuleViolation as exc:
                error = exc
        if error is None:
            return HttpResponseRedirect(return_url)
    return render(
        request,
        "payments/local_cashier.html",
        {"payment": payment, "return_url": return_url, "error": error},
        status=409 if error else 200,
    )
