"""How every page shows a refusal: the one error path of the server-rendered pages.

A service refuses with `RuleViolation` (core/exceptions.py); the API turns it into an RFC
9457 problem (tongban/api.py), and this middleware turns one that a page view did not
handle into a page in Chinese with the status the refusal carries — the missing thing's
404 page, a refusal page for 403/409/422, the sign-in page for 401. Views catch a refusal
only to put it on a form field. The page is the app's own (`<namespace>/not_found.html`,
`<namespace>/refused.html`, so the console keeps its frame), else the portal's.
"""

from __future__ import annotations

from collections.abc import Callable

from django.contrib.auth.views import redirect_to_login
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.template.loader import select_template

from core.exceptions import NotFound, RuleViolation
from portal.forms import violation_context

TITLES = {403: "无权办理", 404: "未找到", 409: "当前不能办理", 413: "内容过大", 422: "未能完成操作"}


class RuleViolationMiddleware:
    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        if not isinstance(exception, RuleViolation):
            return None
        if exception.status == 401:
            return redirect_to_login(request.get_full_path())
        match = request.resolver_match
        namespace = match.namespace if match is not None else ""
        name = "not_found.html" if isinstance(exception, NotFound) else "refused.html"
        template = select_template(
            [f"{namespace}/{name}", f"portal/{name}"] if namespace else [f"portal/{name}"]
        )
        context = {
            "message": exception.message,
            "error": violation_context(exception),
            "title": TITLES.get(exception.status, "未能完成操作"),
            "status": exception.status,
        }
        return render(request, template.template.name, context, status=exception.status)
