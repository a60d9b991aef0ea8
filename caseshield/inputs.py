"""Every input file, validated up front: `check` and `plan` refuse to run on a file they would misread.

Each loader validates its own file when it is first read; this module reads them all before any evaluation so that
one run lists every malformed file at once (file, key path, value, fix), instead of stopping at the first one
halfway through, and so that nothing is checked, and no report written, on input that is not what it seems.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial

from caseshield.project import load_project
from caseshield.role_matrix import RoleMatrixError
from caseshield.strict_yaml import InputError


def _policy_files() -> list[Callable[[], object]]:
    from caseshield import role_matrix, settings
    from policies import catalog, waivers
    from policies.rules import (
        data_protection,  # noqa: F401 - reads policies/data-residency.yaml on import
        monitoring,
    )

    return [catalog.load, waivers.load_entries, role_matrix.load, monitoring.alarm_rows, settings.residency_regions,
            settings.declared_oidc_providers]


def problems(stacks: list[str]) -> list[str]:
    """One message per refused file (the policy files, then each stack file); empty when every file is sound."""
    from policies.catalog import CatalogError

    found: list[str] = []
    loaders: list[Callable[[], object]] = []
    try:
        loaders = _policy_files()
    except (InputError, CatalogError, RoleMatrixError) as error:  # a file read when its module is imported
        found.append(str(error))
    project = load_project()
    loaders += [partial(project.stack_document, stack) for stack in stacks]
    for load in loaders:
        try:
            load()
        except (InputError, CatalogError, RoleMatrixError) as error:
            found.append(str(error))
    return found
