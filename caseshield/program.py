"""The Pulumi program: validate settings, compose the environment, export what reviewers need."""

from __future__ import annotations

import pulumi

from caseshield import settings as settings_module


def main() -> None:
    # Settings first: invalid config raises here, before any resource is registered.
    settings = settings_module.from_pulumi()

    from components.environment import CaseManagementEnvironment, CaseManagementEnvironmentArgs

    environment = CaseManagementEnvironment("caseshield", CaseManagementEnvironmentArgs(settings=settings))
    for name, value in environment.exports().items():
        pulumi.export(name, value)
