"""The effective-access probes (policies/rules/deployer.py, policies/role-probes.yaml) on the generated stacks.

Each rule holds on every shipped stack, and fires on the weakenings it exists for: the generated mutants of the
deployer's, the key administrators' and the two boundaries' documents (caseshield/generated_mutants.py), applied
to the recorded prod graph. A dropped grant fails as "can no longer", a widened one as "may now".
"""

from __future__ import annotations

from pathlib import Path

import pytest

from caseshield import schemas
from caseshield.checks import run_engine
from caseshield.generated_mutants import generate, mutated
from caseshield.offline import ResourceGraph
from caseshield.strict_yaml import InputError
from policies import catalog as catalog_module
from policies.pack import policy_for
from policies.rules import RULES, deployer, load_all
from tests.conftest import STACKS, graph_of

load_all()
CATALOG = catalog_module.load()
MINE = sorted(r for r, rule in RULES.items() if rule.check.__module__ == deployer.__name__)


def findings(rule_id: str, graph: ResourceGraph) -> list[str]:
    rule = RULES[rule_id]
    return [v.message for v in run_engine(graph, [policy_for(rule, CATALOG.get(rule.control))]).violations]


def mutant_of(stack: str, suffix: str) -> ResourceGraph:
    graph = graph_of(stack)
    wanted = f"gen:{stack}:{suffix}"
    found = [m for m in generate(graph) if m.id == wanted]
    assert len(found) == 1, f"no generated mutant {wanted}"
    return mutated(graph, found[0])


def test_the_rules_are_listed_under_their_controls() -> None:
    assert MINE == ["boundary-ceilings-reach-only-their-principals", "ci-deployer-may-deploy-exactly-the-blueprint",
                    "key-administrators-administer-only-the-data-keys", "service-boundary-leaves-service-roles-their-work-only"]
    for rule_id in MINE:
        assert rule_id in CATALOG.get(RULES[rule_id].control).rules


@pytest.mark.parametrize("stack", STACKS)
@pytest.mark.parametrize("rule_id", MINE)
def test_each_rule_holds_on_the_shipped_stacks(rule_id: str, stack: str) -> None:
    assert findings(rule_id, graph_of(stack)) == []


@pytest.mark.parametrize(("rule_id", "suffix", "fragment"), [
    # The deployer: a pass to any service, a role of any name under the service boundary, another region; and the
    # grants the deployment needs.
    ("ci-deployer-may-deploy-exactly-the-blueprint",
     "caseshield-roles-ci-deployer-deploy:policy.Statement[PassServiceRolesToTheirServices].Condition.StringEquals.iam:PassedToService:like-any",
     "may now do what must stay refused: a service role passed to a compute service"),
    ("ci-deployer-may-deploy-exactly-the-blueprint",
     "caseshield-roles-ci-deployer-deploy:policy.Statement[ManageServiceRolesUnderTheServiceBoundary].Resource:any",
     "may now do what must stay refused: only the named service roles carry the service boundary"),
    ("ci-deployer-may-deploy-exactly-the-blueprint",
     "caseshield-roles-ci-deployer-deploy:policy.Statement[DeployEnvironmentServices].Condition.StringEquals.aws:RequestedRegion:negate",
     "may now do what must stay refused: a copy in another region"),
    ("ci-deployer-may-deploy-exactly-the-blueprint",
     "caseshield-roles-ci-deployer-deploy:policy.Statement[CreateDataClassKeys]:drop-allow",
     "can no longer do what its grant is for: the pipeline creates the data-class keys"),
    ("ci-deployer-may-deploy-exactly-the-blueprint",
     "caseshield-roles-ci-deployer-deploy:policy.Statement[ManageBlueprintPolicies]:allow-to-deny",
     "can no longer do what its grant is for: the pipeline manages the blueprint's customer-managed policies"),
    # Key administration: every key of the account, the grant lost, key administration lost altogether.
    ("key-administrators-administer-only-the-data-keys",
     "caseshield-roles-key-admin-key-administration:policy.Statement[AdministerDataClassKeys].Resource:any",
     "key-admin: may now do what must stay refused: the key administrator administers the blueprint's keys"),
    ("key-administrators-administer-only-the-data-keys",
     "caseshield-roles-ci-deployer-key-administration:policy.Statement[GrantKeysToAwsResources].Resource:any",
     "ci-deployer: may now do what must stay refused: grants on keys outside the blueprint"),
    ("key-administrators-administer-only-the-data-keys",
     "caseshield-roles-ci-deployer-key-administration::remove",
     "ci-deployer: can no longer do what its grant is for"),
    # The boundary: a ceiling for everyone, a guardrail turned into a grant, the audit's reads gone.
    ("boundary-ceilings-reach-only-their-principals",
     "caseshield-roles-permissions-boundary:policy.Statement[DeployerCeiling].Condition.ArnEquals.aws:PrincipalArn:drop",
     "new-role: may now do what must stay refused: the deploy ceiling is the deployer's alone"),
    ("boundary-ceilings-reach-only-their-principals",
     "caseshield-roles-permissions-boundary:policy.Statement[NoLongTermCredentials]:deny-to-allow",
     "break-glass: may now do what must stay refused: access goes through roles"),
    ("boundary-ceilings-reach-only-their-principals",
     "caseshield-roles-permissions-boundary:policy.Statement[ReadOnlyBasics]:drop-allow",
     "ci-auditor: can no longer do what its grant is for: the nightly live audit"),
    ("boundary-ceilings-reach-only-their-principals",
     "caseshield-roles-permissions-boundary:policy.Statement[BreakGlassCeiling]:allow-to-deny",
     "break-glass: can no longer do what its grant is for"),
    # The service boundary: key administration, and the services' own work.
    ("service-boundary-leaves-service-roles-their-work-only",
     "caseshield-service-boundary-policy:policy.Statement[NoKeyAdministration]:deny-to-allow",
     "service-role:app-instance: may now do what must stay refused: a service role administers no key"),
    ("service-boundary-leaves-service-roles-their-work-only",
     "caseshield-service-boundary-policy:policy.Statement[ServiceWorkOutsideIam]:drop-allow",
     "service-role:vpc-flow-logs: can no longer do what its grant is for: flow logs are delivered"),
])
def test_each_rule_fires_on_the_weakening_it_exists_for(rule_id: str, suffix: str, fragment: str) -> None:
    found = findings(rule_id, mutant_of("prod", suffix))
    assert any(fragment in message for message in found), found


def test_a_weakening_that_changes_no_effective_access_is_not_reported() -> None:
    """IfExists on aws:PrincipalArn admits exactly the principals ArnEquals does: every signed request carries it."""
    suffix = "caseshield-roles-permissions-boundary:policy.Statement[DeployerCeiling].Condition.ArnEquals.aws:PrincipalArn:if-exists"
    assert findings("boundary-ceilings-reach-only-their-principals", mutant_of("prod", suffix)) == []


def test_a_probe_is_refused_unless_it_says_what_it_expects_and_why(tmp_path: Path) -> None:
    text = deployer.PROBES_FILE.read_text().replace("      expect: allow", "      expect: maybe", 1)
    (tmp_path / "role-probes.yaml").write_text(text)
    with pytest.raises(InputError, match="expect"):
        schemas.load(tmp_path / "role-probes.yaml", "role-probes")
