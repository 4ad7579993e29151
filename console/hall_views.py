"""The console's counter consultations (咨询辅导): the clerk records who asked at their
window about which item and how it ended; the hall's staff read the list. Reads start from
`halls.selectors.consultations_for`; a record is `halls.services.record_consultation`."""

from __future__ import annotations

from django.contrib import messages
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.urls import reverse
from django.views.decorators.http import require_http_methods

from catalog.models import ServiceItem
from console.forms import ConsultationForm
from console.views import staff_only
from core.exceptions import RuleViolation
from halls.models import Consultation
from halls.selectors import consultations_for, windows_of_clerk
from halls.services import record_consultation
from portal.forms import violation_context

CONSULTATIONS_PER_PAGE = 20


@staff_only
@require_http_methods(["GET", "HEAD", "POST"])
def consultations(request: HttpRequest) -> HttpResponse:
    """窗口咨询: the consultations of the halls the viewer staffs, newest first; a clerk
    assigned to a window records one here."""
    windows = list(windows_of_clerk(request.user))
    form = ConsultationForm(
        request.POST if request.method == "POST" else None,
        windows=windows,
        outcomes=list(Consultation.Outcome.choices),
    )
    status, error = 200, None
    if request.method == "POST":
        status = 422
        if form.is_valid():
            data = form.cleaned_data
            item = None
            if data["item"]:
                item = ServiceItem.objects.filter(code=data["item"].strip()).first()
                if item is None:
                    form.add_error("item", "没有这个事项编码")
            if not form.errors:
                try:
                    record_consultation(
                        form.chosen_window(),
                        item=item,
                        item_name=data["item_name"],
                        asker_name=data["asker_name"],
                        asker_contact=data["asker_contact"],
                        question=data["question"],
                        answer=data["answer"],
                        outcome=data["outcome"],
                        case_number=data["case_number"],
                        actor=request.user,
                    )
                except RuleViolation as exc:
                    status = exc.status
                    fields = [p.field for p in exc.problems if p.field in form.fields]
                    for problem in exc.problems:
                        if problem.field in form.fields:
                            form.add_error(problem.field, problem.reason)
                    if not fields:
                        error = violation_context(exc)
                else:
                    messages.success(request, "已登记窗口咨询。")
                    return HttpResponseRedirect(reverse("console:consultations"))
    page = Paginator(consultations_for(request.user), CONSULTATIONS_PER_PAGE).get_page(
        request.GET.get("page")
    )
    context = {"form": form, "page": page, "windows": windows, "error": error}
    return render(request, "console/consultations.html", context, status=status)
