"""The mapping of directory groups to teams (README, "Teams from groups"): plain data, read by the
settings at start-up (so no model here) and applied by ``core.services.memberships_from_groups``."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class GroupTeam:
    """One line of the group mapping (KATO_GROUP_TEAMS): members of ``group`` get ``role`` in the
    team ``team`` (its slug); ``provider`` limits it to "ldap" or "oidc" ("" for both)."""

    group: str
    team: str
    role: str
    provider: str = ""

    def matches(self, provider: str, groups: set[str]) -> bool:
        return (not self.provider or self.provider == provider) and self.group.casefold() in groups
