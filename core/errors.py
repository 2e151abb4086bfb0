"""The domain error every service raises, and the one way a service saves a model.

A refusal is a ``ComponentError`` whose ``messages`` map field names to sentences a person can act
on; every door turns it into its own form: a form error on a page or in the admin, a 400 (or a 409
for a lost race) in the console API, the envelope in the instance API.
"""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.utils.translation import gettext


class ComponentError(Exception):
    """A change was refused; ``messages`` maps field names ("" for the whole object) to sentences."""

    def __init__(self, message: str | dict[str, list[str]]) -> None:
        if isinstance(message, dict):
            self.messages = message
            text = " ".join(m for msgs in message.values() for m in msgs)
        else:
            self.messages = {"": [message]}
            text = message
        super().__init__(text)

    @classmethod
    def from_validation(cls, error: ValidationError) -> ComponentError:
        if hasattr(error, "error_dict"):
            return cls(
                {
                    ("" if field == "__all__" else field): list(msgs)
                    for field, msgs in error.message_dict.items()
                }
            )
        return cls(" ".join(error.messages))


def validated_save(obj: Any) -> None:
    """``full_clean()`` then ``save()``; a refusal or a lost race becomes a ``ComponentError``."""
    try:
        obj.full_clean()
        obj.save()
    except ValidationError as error:
        raise ComponentError.from_validation(error) from None
    except IntegrityError as error:
        # A concurrent writer got there first; the database constraint is the last word. Its
        # text names tables and values, so the person gets the constraint's own message instead.
        raise ComponentConflict(_conflict_message(obj, error)) from None


class ComponentConflict(ComponentError):
    """A change lost a race with a concurrent one (a database constraint refused it)."""


def _conflict_message(obj: Any, error: IntegrityError) -> str:
    name = getattr(getattr(error.__cause__, "diag", None), "constraint_name", None) or ""
    for constraint in obj._meta.constraints:
        if constraint.name == name or (not name and constraint.name in str(error)):
            return str(constraint.get_violation_error_message())
    return gettext("The change conflicts with another one made at the same time; reload and try again.")
