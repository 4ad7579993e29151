"""窗口收费: a window clerk records a case's payment taken in cash or by POS
(`cases.payment.take_counter_payment`); the case then goes on to 待受理."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from cases.payment import take_counter_payment
from cases.selectors import get_case_for
from console.forms import CounterPaymentForm
from console.views import render_case, staff_only
from core.exceptions import RuleViolation
from portal.forms import add_problems, violation_context


@staff_only
@require_POST
def record_payment(request: HttpRequest, number: str) -> HttpResponse:
    case = get_case_for(request.user, number)
    form = CounterPaymentForm(request.POST)
    if not form.is_valid():
        return render_case(request, number, status=422, payment_form=form)
    try:
        payment = take_counter_payment(
            case,
            method=form.cleaned_data["method"],
            reference=form.cleaned_data["reference"],
            actor=request.user,
        )
    except RuleViolation as exc:
        add_problems(form, exc, fields={"method": "method", "reference": "reference"})
        return render_case(
            request, number, status=exc.status, error=violation_context(exc), payment_form=form
        )
    messages.success(
        request, f"已登记收费 {payment.amount_text} 元（{payment.get_method_display()}）。"
    )
    return HttpResponseRedirect(reverse("console:case", args=[number]) + "#payments")
