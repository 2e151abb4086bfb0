from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.views import View


class ThirdPartyInstancesApi(View):
    def dispatch(self, request: HttpRequest, service_id: str) -> JsonResponse:
        return JsonResponse({"code": 501}, status=501)
