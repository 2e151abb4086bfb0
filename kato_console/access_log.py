"""gunicorn's access log with the request's text escaped (gunicorn.conf.py sets it as ``logger_class``).

gunicorn writes the decoded path (``%(U)s``): ``/x%0a127.0.0.1 - - "GET /admin/ HTTP/1.1" 200`` would
forge a second log line. Every value taken from the request is written with its control characters
escaped (``core.validation.printable``).
"""

from __future__ import annotations

from typing import Any

from gunicorn.glogging import Logger

from core.validation import printable


class EscapedAccessLog(Logger):
    def atoms(self, resp: Any, req: Any, environ: dict[str, Any], request_time: Any) -> dict[str, Any]:
        atoms: dict[str, Any] = super().atoms(resp, req, environ, request_time)
        return {name: printable(value) if isinstance(value, str) else value for name, value in atoms.items()}
