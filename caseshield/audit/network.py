"""Live checks of the zero-trust network: no public exposure, no internet route from private tiers, endpoints that
admit only this account, an empty default group, no admin ports, flow logs, and tier-to-tier admission."""

from __future__ import annotations

from typing import Any

from caseshield.audit import live_check
from caseshield.audit.account import Account, document, statements
from policies.rules.network import REQUIRED_ENDPOINTS, limited_to_the_account, reads_named_objects

ADMIN_PORTS = (22, 3389)
ANYWHERE = ("0.0.0.0/0", "::/0")
PRIVATE_TIERS = ("app", "data")


def opens(permission: dict[str, Any], port: int) -> bool:
    if permission.get("IpProtocol") == "-1":
        return True
    return permission.get("IpProtocol") in ("tcp", "6") and permission.get("FromPort", 0) <= port <= permission.get("ToPort", 65535)


def from_anywhere(permission: dict[str, Any]) -> bool:
    return any(r.get("CidrIp") in ANYWHERE for r in permission.get("IpRanges", [])) or \
        any(r.get("CidrIpv6") in ANYWHERE for r in permission.get("Ipv6Ranges", []))


@live_check("NET-01", "ec2:DescribeVpcs", "ec2:DescribeSubnets", "rds:DescribeDBInstances", "ec2:DescribeLaunchTemplates",
            "ec2:DescribeLaunchTemplateVersions", "elasticloadbalancing:DescribeLoadBalancers", "elasticloadbalancing:DescribeTags")
def nothing_is_reachable_from_the_internet_but_the_load_balancer(account: Account) -> list[str]:
    """Private subnets never assign public IPs, instances get none, the database is not public and the edge load
    balancer is the stack's only internet-facing entry."""
    found = [f"subnet {s['SubnetId']} ({tier}) assigns public IPs on launch" for tier in PRIVATE_TIERS
             for s in account.subnets(tier) if s.get("MapPublicIpOnLaunch")]
    if account.database.get("PubliclyAccessible"):
        found.append(f"database {account.database['DBInstanceIdentifier']} is publicly accessible")
    found += ["launch template gives instances a public IP" for nic in account.launch_template.get("NetworkInterfaces", [])
              if nic.get("AssociatePublicIpAddress")]
    lb = account.load_balancer
    if lb.get("Type") != "application":
        found.append(f"the internet-facing load balancer {lb['LoadBalancerName']} is not the application load balancer")
    return found


@live_check("NET-02", "ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeRouteTables", "ec2:DescribeNatGateways")
def private_subnets_have_no_internet_route(account: Account) -> list[str]:
    """No route table of an app or data subnet routes to an internet or NAT gateway, and the VPC has no NAT gateway."""
    ec2, found = account.client("ec2"), []
    for tier in PRIVATE_TIERS:
        ids = [s["SubnetId"] for s in account.subnets(tier)]
        tables = ec2.describe_route_tables(Filters=[{"Name": "association.subnet-id", "Values": ids}])["RouteTables"]
        for table in tables:
            for route in table.get("Routes", []):
                target = route.get("GatewayId", "") or route.get("NatGatewayId", "")
                if target.startswith(("igw-", "nat-")) or route.get("NatGatewayId"):
                    found.append(f"{tier} route table {table['RouteTableId']} routes {route.get('DestinationCidrBlock')} to {target}")
    nats = ec2.describe_nat_gateways(Filters=[*account.vpc_filter(), {"Name": "state", "Values": ["pending", "available"]}])
    found += [f"NAT gateway {n['NatGatewayId']} exists" for n in nats.get("NatGateways", [])]
    return found


@live_check("NET-03", "ec2:DescribeVpcs", "ec2:DescribeVpcEndpoints")
def aws_services_are_reached_through_endpoints_for_this_account(account: Account) -> list[str]:
    """Every required service has a VPC endpoint of its kind, interface endpoints resolve privately, and every
    endpoint policy admits only this account's principals (or reads named AWS package buckets)."""
    endpoints = account.client("ec2").describe_vpc_endpoints(Filters=account.vpc_filter())["VpcEndpoints"]
    present = {(e["ServiceName"].rsplit(".", 1)[-1], e["VpcEndpointType"]): e for e in endpoints
               if e.get("State", "available").lower() not in ("deleted", "deleting")}
    found = [f"no {kind} endpoint for {service}" for service, kind in REQUIRED_ENDPOINTS.items() if (service, kind) not in present]
    for (service, kind), endpoint in sorted(present.items()):
        if kind == "Interface" and not endpoint.get("PrivateDnsEnabled"):
            found.append(f"{service} endpoint does not use private DNS")
        policy = document(endpoint.get("PolicyDocument"))
        if not policy:
            found.append(f"{service} endpoint has no policy: any principal of any account gets through")
        for st in statements(policy):
            if st.get("Effect") == "Allow" and not (limited_to_the_account(st) or reads_named_objects(st)):
                found.append(f"{service} endpoint policy statement {st.get('Sid', '?')} admits other accounts")
    return found


@live_check("NET-04", "ec2:DescribeVpcs", "ec2:DescribeSecurityGroups")
def default_security_group_admits_and_sends_nothing(account: Account) -> list[str]:
    """The VPC's default security group has no inbound and no outbound rule."""
    groups = account.client("ec2").describe_security_groups(
        Filters=[*account.vpc_filter(), {"Name": "group-name", "Values": ["default"]}])["SecurityGroups"]
    return [f"default security group {g['GroupId']} has {len(g['IpPermissions'])} inbound and {len(g['IpPermissionsEgress'])} "
            "outbound rule(s)" for g in groups if g["IpPermissions"] or g["IpPermissionsEgress"]]


@live_check("NET-05", "ec2:DescribeVpcs", "ec2:DescribeSecurityGroups", "ec2:DescribeNetworkAcls")
def nobody_reaches_ssh_or_rdp(account: Account) -> list[str]:
    """No security group admits SSH or RDP from anywhere, and every network ACL denies both before any allow."""
    ec2, found = account.client("ec2"), []
    for group in ec2.describe_security_groups(Filters=account.vpc_filter())["SecurityGroups"]:
        for perm in group["IpPermissions"]:
            found += [f"security group {group['GroupId']} admits port {p} from anywhere" for p in ADMIN_PORTS
                      if opens(perm, p) and from_anywhere(perm)]
    for acl in ec2.describe_network_acls(Filters=account.vpc_filter())["NetworkAcls"]:
        entries = sorted((e for e in acl["Entries"] if not e["Egress"]), key=lambda e: e["RuleNumber"])
        for port in ADMIN_PORTS:
            first = next((e for e in entries if e.get("CidrBlock") in ANYWHERE and (e["Protocol"] == "-1" or (
                e["Protocol"] == "6" and e.get("PortRange", {}).get("From", 0) <= port <= e.get("PortRange", {}).get("To", 65535)))), None)
            if first is not None and first["RuleAction"] != "deny":
                found.append(f"network ACL {acl['NetworkAclId']} allows port {port} from anywhere (rule {first['RuleNumber']})")
    return found


@live_check("NET-06", "ec2:DescribeVpcs", "ec2:DescribeFlowLogs", "logs:DescribeLogGroups")
def vpc_flow_logs_record_all_traffic(account: Account) -> list[str]:
    """The VPC's flow log records all traffic into a log group with a retention period."""
    logs = account.client("ec2").describe_flow_logs(Filters=[{"Name": "resource-id", "Values": [account.vpc_id]}])["FlowLogs"]
    good = [f for f in logs if f.get("TrafficType") == "ALL" and f.get("LogDestinationType") == "cloud-watch-logs"
            and f.get("FlowLogStatus", "ACTIVE") == "ACTIVE"]
    if not good:
        return [f"VPC {account.vpc_id} has no active flow log of ALL traffic into CloudWatch Logs"]
    found = []
    for flow in good:
        group = flow.get("LogGroupName") or str(flow.get("LogDestination", "")).rsplit("log-group:", 1)[-1].removesuffix(":*")
        if not account.log_group(group).get("retentionInDays"):
            found.append(f"flow log group {group} keeps events for ever (no retention period)")
    return found


def ingress_sources(group: dict[str, Any]) -> list[tuple[str, int, int]]:
    """(source, from port, to port) of every inbound rule: a security group id or a CIDR."""
    found = []
    for perm in group["IpPermissions"]:
        ports = (perm.get("FromPort", 0), perm.get("ToPort", 65535)) if perm.get("IpProtocol") != "-1" else (0, 65535)
        found += [(p["GroupId"], *ports) for p in perm.get("UserIdGroupPairs", [])]
        found += [(r["CidrIp"], *ports) for r in perm.get("IpRanges", [])]
        found += [(r["CidrIpv6"], *ports) for r in perm.get("Ipv6Ranges", [])]
    return found


@live_check("NET-07", "ec2:DescribeVpcs", "ec2:DescribeSecurityGroups", "rds:DescribeDBInstances")
def each_tier_admits_only_its_neighbour(account: Account) -> list[str]:
    """The database admits only the app tier on its port, and the app tier only the load balancer on the app port."""
    app, alb = account.security_group("app"), account.security_group("alb")
    port = account.database.get("Endpoint", {}).get("Port") or 5432
    found = []
    for vsg in account.database["VpcSecurityGroups"]:
        for source, low, high in ingress_sources(account.security_group_by_id(vsg["VpcSecurityGroupId"])):
            if source != app["GroupId"] or (low, high) != (port, port):
                found.append(f"database group {vsg['VpcSecurityGroupId']} admits {source} on {low}-{high}")
    app_port = account.settings.app_port
    for source, low, high in ingress_sources(app):
        if source != alb["GroupId"] or (low, high) != (app_port, app_port):
            found.append(f"app group {app['GroupId']} admits {source} on {low}-{high}")
    return found
