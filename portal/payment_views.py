"""网上缴费 from the case page: the applicant is sent to the gateway's cashier
(`cases.payment.pay_online`) and comes back to the case page when done."""

from __future__ import annotations

from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.urls import reverse
from django.views.decorators.http import require_POST

from cases.payment import pay_online
from cases.selectors import get_case_for


@login_required
@require_POST
def case_pay(request: HttpRequest, number: str) -> HttpResponse:
    case = get_case_for(request.user, number)
    pay_url = pay_online(
        case,
        actor=request.user,
        base_url=request.build_absolute_uri("/"),
        return_url=reverse("portal:my_case", args=[number]),
    )
    return HttpResponseRedirect(pay_url)
