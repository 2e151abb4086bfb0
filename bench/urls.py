from __future__ import annotations

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from kato_console.urls import urlpatterns as console_urlpatterns


@login_not_required  # like the instance API it is compared with
@csrf_exempt
def bare(request: HttpRequest) -> JsonResponse:
    """The baseline: a Django view that returns a small JSON body and touches nothing else."""
    return JsonResponse({"msg": "success", "code": 200, "data": {"bean": {}, "list": []}, "msg_show": "ok"})


urlpatterns = [path("bench/bare", bare), *console_urlpatterns]
