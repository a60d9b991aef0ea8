"""`caseshield audit`: run the live checks against deployed stacks and write the reports; `--print-policy` prints
the read-only IAM policy the audit needs.

Exit 0 only when every check of every stack observed the account and passed; 1 when any check failed or could not
observe (an error is never a pass); 2 when the command line or an input file is refused.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from functools import cached_property
from pathlib import Path
from typing import Any

import boto3
from botocore.exceptions import ProfileNotFound

from caseshield.audit import policy
from caseshield.audit.account import Account
from caseshield.audit.report import AuditReport, clear, write
from caseshield.audit.runner import audit_stack, describe
from caseshield.offline import ResourceGraph
from caseshield.project import load_project
from caseshield.settings import load_settings

BUCKET_TYPES = ("aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2")


def default_session(profile: str | None, region: str | None) -> boto3.session.Session:
    """The boto3 session of `--profile`/`--region` (or the environment's). Tests replace this to reach moto."""
    return boto3.session.Session(profile_name=profile, region_name=region)


SESSION_FACTORY: Callable[[str | None, str | None], boto3.session.Session] = default_session


LOAD_BALANCER = "aws:lb/loadBalancer:LoadBalancer"
LAUNCH_TEMPLATE = "aws:ec2/launchTemplate:LaunchTemplate"


class ExportedAccount(Account):
    """An account whose auto-named resources (buckets) and the resources it otherwise finds by tag (the load balancer,
    the launch template) are taken exactly from `pulumi stack export`."""

    exported: ResourceGraph

    @cached_property
    def buckets(self) -> dict[str, dict[str, str]]:
        """The buckets the stack export records, by physical name (their tags as the export recorded them)."""
        found = {str(r.id): {k: str(v) for k, v in (r.outputs.get("tags") or r.inputs.get("tags") or {}).items()}
                 for t in BUCKET_TYPES for r in self.exported.of_type(t) if r.id}
        if not found:
            from caseshield.audit.account import ResourceMissing

            raise ResourceMissing(f"the stack export of {self.stack} records no bucket")
        return found

    def _exported_id(self, type_: str, output: str = "id") -> str:
        from caseshield.audit.account import ResourceMissing

        found = [str(r.outputs.get(output) or r.id) for r in self.exported.of_type(type_) if r.outputs.get(output) or r.id]
        if len(found) != 1:
            raise ResourceMissing(f"expected one {type_} in the stack export of {self.stack}, found {len(found)}")
        return found[0]

    @cached_property
    def load_balancer(self) -> dict[str, Any]:
        """The load balancer whose ARN the stack export records (an ARN the account lacks is an error)."""
        arn = self._exported_id(LOAD_BALANCER, "arn")
        return dict(self.client("elbv2").describe_load_balancers(LoadBalancerArns=[arn])["LoadBalancers"][0])

    @cached_property
    def launch_template(self) -> dict[str, Any]:
        """The default version's data of the launch template whose id the stack export records."""
        versions = self.client("ec2").describe_launch_template_versions(
            LaunchTemplateId=self._exported_id(LAUNCH_TEMPLATE), Versions=["$Default"])["LaunchTemplateVersions"]
        return dict(versions[0]["LaunchTemplateData"])


def add_audit_parser(sub: argparse._SubParsersAction) -> None:
    audit = sub.add_parser("audit", help="check deployed stacks against the controls with read-only AWS calls (live checks)")
    audit.add_argument("--stack", help="a stack name (stacks/Pulumi.NAME.yaml) or a comma list; its account is the credentials'")
    audit.add_argument("--region", help="region of the stack (default: the stack's aws:region setting)")
    audit.add_argument("--profile", help="AWS profile to read with (e.g. one that assumes the security-auditor role)")
    audit.add_argument("--endpoint-url", help="send every AWS call here (a local emulator such as moto_server)")
    audit.add_argument("--stack-export", metavar="FILE",
                       help="JSON of `pulumi stack export`: names the stack and gives its auto-named resources exactly")
    audit.add_argument("--format", default="md,html,json,sarif,junit", help="comma list of md, html, json, sarif, junit")
    audit.add_argument("--out", default="reports", help="directory for the reports (default: reports/)")
    audit.add_argument("--print-policy", action="store_true",
                       help="print the least-privilege read-only IAM policy the audit needs, and exit")
    audit.add_argument("--no-progress", action="store_true", help="no progress bar even on a terminal")
    audit.set_defaults(func=cmd_audit, parser=audit)


def _accounts(args: argparse.Namespace) -> list[Account]:
    from caseshield.cli import stacks_named
    from caseshield.plans import PlanError, from_stack_export

    exported = from_stack_export(Path(args.stack_export)) if args.stack_export else None
    if exported is not None and args.stack and args.stack != exported.stack:
        raise PlanError(f"--stack {args.stack} but --stack-export {args.stack_export} is of stack {exported.stack}; "
                        "give one stack, or drop --stack")
    names = [exported.stack] if exported is not None else stacks_named(args.stack)
    accounts: list[Account] = []
    for name in names:
        settings = load_settings(load_project().stack_config(name), name)
        session = SESSION_FACTORY(args.profile, args.region or settings.region)
        if exported is not None:
            account: Account = ExportedAccount(name, session, settings=settings, endpoint_url=args.endpoint_url)
            account.exported = exported  # type: ignore[attr-defined]
        else:
            account = Account(name, session, settings=settings, endpoint_url=args.endpoint_url)
        accounts.append(account)
    return accounts


def cmd_audit(args: argparse.Namespace) -> int:
    from caseshield.render import parse_formats

    if args.print_policy:
        print(policy.render())
        return 0
    if not args.stack and not args.stack_export:
        # A usage error as argparse writes one (usage line, then the missing option), exit 2; not a refused input.
        args.parser.print_usage(sys.stderr)
        print(f"{args.parser.prog}: error: the following arguments are required: --stack NAME (or --stack-export FILE; "
              "--print-policy needs neither)", file=sys.stderr)
        return 2
    formats = parse_formats(args.format)
    out = Path(args.out)
    clear(out)  # writable, and no earlier run's audit report can be mistaken for this one's
    try:
        accounts = _accounts(args)
    except ProfileNotFound:
        print(f"caseshield: --profile {args.profile}: no such profile in the AWS config file (~/.aws/config, or "
              "AWS_CONFIG_FILE). Fix: add a profile that assumes the security-auditor role (role_arn, source_profile, "
              "mfa_serial), or drop --profile to use the environment's credentials.", file=sys.stderr)
        return 2
    report = AuditReport([])
    for account in accounts:
        try:
            report.accounts[account.stack] = account.account_id
        except Exception as error:  # the checks will each report it as an error too
            print(f"caseshield: {account.stack}: cannot read the account id: {describe(error)}", file=sys.stderr)
            report.accounts[account.stack] = None
        report.regions[account.stack] = account.region
        audit = audit_stack(account, progress=False if args.no_progress else None)
        report.stacks.append(audit)
        n = {s: sum(r.status == s for r in audit.results) for s in ("pass", "fail", "error")}
        print(f"{audit.stack}: {'PASS' if audit.passed else 'FAIL'} {n['pass']} pass, {n['fail']} fail, {n['error']} error "
              f"({len(audit.controls())} controls, {audit.seconds:.1f} s)")
        for r in audit.results:
            if r.status != "pass":
                print(f"  {r.status} {r.control} {r.check}: {'; '.join(r.messages)}")
    written = write(report, formats, out)
    print("reports: " + ", ".join(str(p) for p in written))
    print(f"verdict: {'PASS' if report.passed else 'FAIL'}")
    return 0 if report.passed else 1
