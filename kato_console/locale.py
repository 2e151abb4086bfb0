"""The console's language (README, "Languages"): Django's LocaleMiddleware (the language switch's
cookie, then the browser's Accept-Language), except on the Kato-compatible instance API, whose
answers (``msg``, ``msg_show``) stay exactly as Kato's, in English, whatever the client asks."""

from __future__ import annotations

from django.conf import settings
from django.http import HttpRequest, HttpResponseBase
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

INSTANCE_API_PREFIX = "/console/third_party/"


class ConsoleLocale(LocaleMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        if request.path.startswith(INSTANCE_API_PREFIX):
            translation.activate(settings.LANGUAGE_CODE)
            request.LANGUAGE_CODE = settings.LANGUAGE_CODE
            return
        super().process_request(request)

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if request.path.startswith(INSTANCE_API_PREFIX):
            return response
        return super().process_response(request, response)
