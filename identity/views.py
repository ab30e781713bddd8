"""Pages of the identity app: the privacy notice, readable by anyone."""

from __future__ import annotations

from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, render
from django.utils import translation

from config.link_language import link_language
from operators.branding import brand_context
from operators.models import Operator

from . import selectors
from .models import NoticeLanguage


@link_language
def privacy_notice(request: HttpRequest, operator_code: str) -> HttpResponse:
    """The operator's current privacy notice (public), in the page's language
    when it is published in it, else in the languages it has."""
    operator = get_object_or_404(Operator, code=operator_code)
    notices = [
        n
        for n in (
            selectors.notice_current(operator=operator, language=lang)
            for lang in (NoticeLanguage.ZH, NoticeLanguage.EN)
        )
        if n is not None
    ]
    if not notices:
        raise Http404
    notices = [n for n in notices if n.language == translation.get_language()] or notices
    return render(
        request,
        "identity/notice.html",
        {"operator": operator, "notices": notices, **brand_context(operator)},
    )
