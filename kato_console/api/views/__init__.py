"""The console API ``/api/v1/``, one module per resource (docs/architecture.md): validate, call a
selector or service, answer. The instances, their health check and probing are in ``kato_console.api``.

Every object is reached through a selector that takes the requesting user, so another team's
object is a 404; writes need the owner or developer role in the object's team (403 for viewers).
A refused change (``ComponentError``) is a 400 in DRF's usual form, with the field it concerns.
"""
