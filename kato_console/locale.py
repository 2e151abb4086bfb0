"""The console's language (README, "Languages"): Django's LocaleMiddleware (the language switch's
cookie, then the browser's Accept-Language), except on the Kato-compatible instance API, whose
answers (``msg``, ``msg_show``) stay exactly as Kato's, in English, whatever the client asks and
whatever the installation's LANGUAGE_CODE: the refusals of the services it passes on are rendered in
English there."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponseBase
from django.middleware.locale import LocaleMiddleware
from django.utils import translation

INSTANCE_API_PREFIX = "/console/third_party/"
KATO_API_LANGUAGE = "en"


class ConsoleLocale(LocaleMiddleware):
    def process_request(self, request: HttpRequest) -> None:
        if request.path.startswith(INSTANCE_API_PREFIX):
            translation.activate(KATO_API_LANGUAGE)
            request.LANGUAGE_CODE = KATO_API_LANGUAGE
            return
        super().process_request(request)

    def process_response(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if request.path.startswith(INSTANCE_API_PREFIX):
            return response
        return super().process_response(request, response)
