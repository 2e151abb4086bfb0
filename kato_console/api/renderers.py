"""Plain-text answers for ``GET …/env?format=dotenv|shell``.

DRF picks a renderer by the ``format`` query parameter, so the effective environment's formats are
renderers: the view prepares the text and the renderer only encodes it.
"""

from __future__ import annotations

from typing import Any

from rest_framework.renderers import BaseRenderer


class _TextRenderer(BaseRenderer):
    media_type = "text/plain"
    charset = "utf-8"

    def render(
        self, data: Any, accepted_media_type: str | None = None, renderer_context: Any = None
    ) -> bytes:
        return str(data or "").encode(self.charset)


class DotenvRenderer(_TextRenderer):
    format = "dotenv"


class ShellRenderer(_TextRenderer):
    format = "shell"
