"""`isolate-instance`: contain a suspect EC2 instance while keeping every piece of evidence on it.

Order matters, protective step first. The instance is cut off from the network by a security group with no rules
(nothing else can fail before the traffic stops), then tagged with its incident, protected from termination, taken
out of its Auto Scaling group (which would otherwise replace the "unhealthy" instance and destroy its disks and
memory) and out of its load balancer target groups, and only then are its volumes snapshotted, so the snapshots
show the state the responder contained. Every step looks at the current state first, so a rerun after a failure
or Ctrl-C does only what is still missing (the resume command in the log), and never re-tags another incident.
"""

from __future__ import annotations

import argparse
from typing import Any

from caseshield.respond.core import INCIDENT_TAG, QUARANTINE_TAG, Context, InputError, Plan, add_action, missing, not_found

QUARANTINE_GROUP = "caseshield-quarantine"


def register(actions: Any) -> None:
    parser = add_action(actions, "isolate-instance", isolate_instance,
                        "quarantine an EC2 instance: no-traffic security group, snapshots, tags, out of ASG and target groups",
                        [("instance_id", "the instance to isolate, e.g. i-0123456789abcdef0")])
    parser.add_argument("--incident", help="incident id for the tags (default: quarantine-<UTC time>)")


def describe(ctx: Context, instance_id: str) -> dict[str, Any]:
    with missing("instance", instance_id, "InvalidInstanceID.NotFound", "InvalidInstanceID.Malformed"):
        reservations = ctx.client("ec2").describe_instances(InstanceIds=[instance_id])["Reservations"]
    instances = [i for r in reservations for i in r["Instances"]]
    if not instances or instances[0]["State"]["Name"] in ("terminated", "shutting-down"):
        raise not_found("instance", instance_id, "(or it is terminated)")
    return instances[0]


def quarantine_group(ctx: Context, vpc_id: str) -> str | None:
    groups = ctx.client("ec2").describe_security_groups(
        Filters=[{"Name": "vpc-id", "Values": [vpc_id]}, {"Name": "group-name", "Values": [QUARANTINE_GROUP]}])
    return groups["SecurityGroups"][0]["GroupId"] if groups["SecurityGroups"] else None


def ensure_quarantine_group(ctx: Context, vpc_id: str, incident: str) -> str:
    """Create or reuse the VPC's quarantine group and strip every rule from it, including the allow-all egress
    rule AWS adds to new groups and anything someone added to a reused one."""
    ec2 = ctx.client("ec2")
    group_id = quarantine_group(ctx, vpc_id) or ec2.create_security_group(
        GroupName=QUARANTINE_GROUP, VpcId=vpc_id, Description="CaseShield quarantine: no ingress, no egress",
        TagSpecifications=[{"ResourceType": "security-group", "Tags": [{"Key": INCIDENT_TAG, "Value": incident}]}],
    )["GroupId"]
    group = ec2.describe_security_groups(GroupIds=[group_id])["SecurityGroups"][0]
    if group["IpPermissions"]:
        ec2.revoke_security_group_ingress(GroupId=group_id, IpPermissions=group["IpPermissions"])
    if group["IpPermissionsEgress"]:
        ec2.revoke_security_group_egress(GroupId=group_id, IpPermissions=group["IpPermissionsEgress"])
    return str(group_id)


def registrations(ctx: Context, instance: dict[str, Any]) -> list[dict[str, Any]]:
    """Every ELBv2 target group entry that sends traffic to the instance: by instance id, or by one of its private
    IPs in an ip-type group of the same VPC."""
    elbv2 = ctx.client("elbv2")
    addresses = {a["PrivateIpAddress"] for eni in instance.get("NetworkInterfaces", []) for a in eni.get("PrivateIpAddresses", [])}
    found = []
    for page in elbv2.get_paginator("describe_target_groups").paginate():
        for group in page["TargetGroups"]:
            same_vpc = group.get("VpcId") == instance.get("VpcId")
            for entry in elbv2.describe_target_health(TargetGroupArn=group["TargetGroupArn"])["TargetHealthDescriptions"]:
                target = entry["Target"]
                if target["Id"] == instance["InstanceId"] or (same_vpc and target["Id"] in addresses):
                    found.append({"TargetGroupArn": group["TargetGroupArn"], "Target": target})
    return found


def auto_scaling_group(ctx: Context, instance_id: str) -> str | None:
    found = ctx.client("autoscaling").describe_auto_scaling_instances(InstanceIds=[instance_id])["AutoScalingInstances"]
    return found[0]["AutoScalingGroupName"] if found else None


def state(ctx: Context, instance_id: str, incident: str) -> dict[str, Any]:
    """What the log records before and after: network placement, volumes, tags, memberships, evidence snapshots."""
    instance = describe(ctx, instance_id)
    snapshots = ctx.client("ec2").describe_snapshots(
        OwnerIds=["self"], Filters=[{"Name": f"tag:{INCIDENT_TAG}", "Values": [incident]},
                                    {"Name": "tag:caseshield:source-instance", "Values": [instance_id]}])["Snapshots"]
    protected = ctx.client("ec2").describe_instance_attribute(InstanceId=instance_id, Attribute="disableApiTermination")
    return {
        "vpc": instance.get("VpcId"),
        "security_groups": security_groups(instance),
        "volumes": volumes(instance),
        "tags": {t["Key"]: t["Value"] for t in instance.get("Tags", [])},
        "termination_protection": protected["DisableApiTermination"]["Value"],
        "auto_scaling_group": auto_scaling_group(ctx, instance_id),
        "target_groups": registrations(ctx, instance),
        "snapshots": sorted(s["SnapshotId"] for s in snapshots),
        "snapshotted_volumes": sorted({t["Value"] for s in snapshots for t in s.get("Tags", []) if t["Key"] == "caseshield:source-volume"}),
    }


def security_groups(instance: dict[str, Any]) -> dict[str, list[str]]:
    """Groups per network interface. With one interface, the instance's own group list is that interface's (the
    attribute `replace_groups` changes for such an instance)."""
    interfaces = instance.get("NetworkInterfaces", [])
    if len(interfaces) == 1:
        return {interfaces[0]["NetworkInterfaceId"]: sorted(g["GroupId"] for g in instance.get("SecurityGroups", []))}
    return {eni["NetworkInterfaceId"]: sorted(g["GroupId"] for g in eni["Groups"]) for eni in interfaces}


def volumes(instance: dict[str, Any]) -> list[str]:
    return [m["Ebs"]["VolumeId"] for m in instance.get("BlockDeviceMappings", []) if "Ebs" in m]


def incident_for(ctx: Context, instance: dict[str, Any], requested: str | None) -> str:
    """The incident id: the one asked for, else the one already on the instance (a rerun or a second responder must
    not unlink the instance from its incident), else a new one from the start time."""
    existing = {t["Key"]: t["Value"] for t in instance.get("Tags", [])}.get(INCIDENT_TAG)
    if requested and existing and requested != existing:
        raise InputError(f"instance {instance['InstanceId']} is already tagged {INCIDENT_TAG}={existing}; pass --incident "
                         f"{existing} to continue that incident, or untag it first")
    return requested or existing or f"quarantine-{ctx.stamp}"


def isolate_instance(ctx: Context, args: argparse.Namespace) -> Plan:
    instance_id = args.instance_id
    instance = describe(ctx, instance_id)
    vpc_id = instance.get("VpcId")
    if not vpc_id:
        raise InputError(f"instance {instance_id} is not in a VPC; isolate it by hand")
    incident = incident_for(ctx, instance, args.incident)
    before = state(ctx, instance_id, incident)
    existing_group = quarantine_group(ctx, vpc_id)
    isolated = bool(existing_group) and all(groups == [existing_group] for groups in before["security_groups"].values())
    pending_volumes = [v for v in before["volumes"] if v not in before["snapshotted_volumes"]]
    wanted_tags = {INCIDENT_TAG: incident, QUARANTINE_TAG: before["tags"].get(QUARANTINE_TAG, ctx.stamp)}
    new_tags = {k: v for k, v in wanted_tags.items() if before["tags"].get(k) != v}
    changes = [
        *([] if isolated else [
            f"{'reuse' if existing_group else 'create'} security group {QUARANTINE_GROUP} in {', '.join(sorted(vpcs(instance)))} "
            "with no ingress and no egress rules",
            f"first, replace the security groups of {', '.join(before['security_groups'])} with {QUARANTINE_GROUP} only"]),
        *([f"tag {instance_id} " + " and ".join(f"{k}={v}" for k, v in new_tags.items())] if new_tags else []),
        *([] if before["termination_protection"] else [f"enable termination protection on {instance_id}"]),
        *([f"detach {instance_id} from Auto Scaling group {before['auto_scaling_group']} (desired capacity kept: it launches a "
           "replacement)"] if before["auto_scaling_group"] else []),
        *[f"deregister {r['Target']['Id']}:{r['Target'].get('Port')} from {r['TargetGroupArn']}" for r in before["target_groups"]],
        *[f"snapshot {v} tagged {INCIDENT_TAG}={incident}" for v in pending_volumes],
    ]
    created: list[str] = []
    progress = {"swapped": isolated}

    def apply() -> None:
        """Network first: the quarantine group cuts traffic at once, whatever fails later. Leaving the Auto Scaling
        group follows within seconds, well inside the health-check grace an ELB-health replacement needs, so the
        group does not terminate the cut-off instance and its evidence."""
        ec2 = ctx.client("ec2")
        if not isolated:
            groups = {}
            for vpc in sorted(vpcs(instance)):
                had = quarantine_group(ctx, vpc)
                groups[vpc] = ensure_quarantine_group(ctx, vpc, incident)
                created.extend([] if had else [groups[vpc]])
            replace_groups(ctx, instance, groups)
            progress["swapped"] = True
        if new_tags:
            ec2.create_tags(Resources=[instance_id], Tags=[{"Key": k, "Value": v} for k, v in new_tags.items()])
        if not before["termination_protection"]:
            ec2.modify_instance_attribute(InstanceId=instance_id, DisableApiTermination={"Value": True})
        if before["auto_scaling_group"]:
            ctx.client("autoscaling").detach_instances(InstanceIds=[instance_id], AutoScalingGroupName=before["auto_scaling_group"],
                                                       ShouldDecrementDesiredCapacity=False)
        # Detaching from the group already deregisters it from the group's target groups: look again.
        for registration in registrations(ctx, instance):
            ctx.client("elbv2").deregister_targets(TargetGroupArn=registration["TargetGroupArn"], Targets=[registration["Target"]])
        for volume_id in pending_volumes:
            ec2.create_snapshot(
                VolumeId=volume_id, Description=f"CaseShield evidence {incident}: {volume_id} of {instance_id} at {ctx.stamp}",
                TagSpecifications=[{"ResourceType": "snapshot", "Tags": [
                    {"Key": INCIDENT_TAG, "Value": incident}, {"Key": QUARANTINE_TAG, "Value": wanted_tags[QUARANTINE_TAG]},
                    {"Key": "caseshield:source-instance", "Value": instance_id},
                    {"Key": "caseshield:source-volume", "Value": volume_id}]}])

    def rollback() -> str | None:
        """Before the swap nothing touched the instance: remove the empty groups this run created. After it, the
        isolation stays (undoing it would reopen the instance); the rest is resumed instead."""
        if progress["swapped"]:
            return None
        for group_id in created:
            ctx.client("ec2").delete_security_group(GroupId=group_id)
        return f"deleted the unused quarantine group(s) {', '.join(created)}" if created else "nothing had changed"

    def observe() -> dict[str, Any]:
        after = state(ctx, instance_id, incident)
        group = quarantine_group(ctx, vpc_id)
        rules = ctx.client("ec2").describe_security_groups(GroupIds=[group])["SecurityGroups"][0] if group else {}
        return {**after, "quarantine_group": group,
                "quarantine_rules": len(rules.get("IpPermissions", [])) + len(rules.get("IpPermissionsEgress", []))}

    def verify(after: dict[str, Any]) -> list[str]:
        group = after["quarantine_group"]
        return [
            *[f"{eni} has security groups {groups}, not only {QUARANTINE_GROUP}"
              for eni, groups in after["security_groups"].items() if not group or groups != [group]],
            *([f"{QUARANTINE_GROUP} has {after['quarantine_rules']} rule(s)"] if after["quarantine_rules"] else []),
            *([f"still in Auto Scaling group {after['auto_scaling_group']}"] if after["auto_scaling_group"] else []),
            *[f"still registered in {r['TargetGroupArn']}" for r in after["target_groups"]],
            *([] if after["termination_protection"] else ["termination protection is off"]),
            *([] if after["tags"].get(INCIDENT_TAG) == incident else [f"tag {INCIDENT_TAG} is not {incident}"]),
            *[f"no evidence snapshot of {v}" for v in after["volumes"] if v not in after["snapshotted_volumes"]],
        ]

    return Plan(target=instance_id, before={**before, "quarantine_group": existing_group}, changes=changes, apply=apply,
                observe=observe, verify=verify, rollback=rollback)


def vpcs(instance: dict[str, Any]) -> set[str]:
    """The instance's VPC and those of its interfaces (multi-VPC interface attachments exist)."""
    return {instance["VpcId"], *(eni["VpcId"] for eni in instance.get("NetworkInterfaces", []) if eni.get("VpcId"))}


def replace_groups(ctx: Context, instance: dict[str, Any], groups: dict[str, str]) -> None:
    """EC2 refuses ModifyInstanceAttribute(Groups) on an instance with several network interfaces, so those are
    changed interface by interface, each to the quarantine group of its own VPC."""
    ec2 = ctx.client("ec2")
    interfaces = instance.get("NetworkInterfaces", [])
    if len(interfaces) <= 1:
        ec2.modify_instance_attribute(InstanceId=instance["InstanceId"], Groups=[groups[instance["VpcId"]]])
        return
    for eni in interfaces:
        ec2.modify_network_interface_attribute(NetworkInterfaceId=eni["NetworkInterfaceId"],
                                               Groups=[groups[eni.get("VpcId") or instance["VpcId"]]])
