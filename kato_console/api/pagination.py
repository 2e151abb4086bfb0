"""How every list of the console API is paged: ``?page=`` and ``?page_size=``, answered as
``{"count", "next", "previous", "results"}`` (DRF's page-number pagination).

A script follows ``next`` until it is null. ``page_size`` defaults to ``PAGE_SIZE`` and is capped at
``MAX_PAGE_SIZE``: a larger one gives pages of the maximum, so a loop over ``next`` still sees every
row. A ``page_size`` that is not a positive whole number is a 400 (a typo should not silently page
by 100); a page number that is not one or past the last page is DRF's 404 "Invalid page.".
"""

from __future__ import annotations

from django.utils.translation import gettext
from rest_framework import exceptions
from rest_framework.pagination import PageNumberPagination
from rest_framework.request import Request

PAGE_SIZE = 100
MAX_PAGE_SIZE = 1000


class ConsolePagination(PageNumberPagination):
    page_size = PAGE_SIZE
    page_size_query_param = "page_size"
    max_page_size = MAX_PAGE_SIZE
    page_size_query_description = (
        f"Rows per page: default {PAGE_SIZE}, at most {MAX_PAGE_SIZE} (more gives {MAX_PAGE_SIZE})."
    )

    def get_page_size(self, request: Request) -> int:
        raw = request.query_params.get(self.page_size_query_param)
        if raw is None:
            return self.page_size
        digits = raw.lstrip("0")
        if not (raw.isascii() and raw.isdigit() and digits):
            raise exceptions.ValidationError(
                {
                    self.page_size_query_param: [
                        gettext("A page size is a whole number from 1 to %(n)d.") % {"n": MAX_PAGE_SIZE}
                    ]
                }
            )
        # Past a few digits it is over the maximum anyway; int() of thousands of digits is refused.
        return MAX_PAGE_SIZE if len(digits) > 6 else min(int(digits), MAX_PAGE_SIZE)
