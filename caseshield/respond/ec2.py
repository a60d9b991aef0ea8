"""`isolate-instance`: contain a suspect EC2 instance while keeping every piece of evidence on it.

Order matters. The instance is tagged and protected from termination first, taken out of its Auto Scaling group
(which would otherwise replace the "unhealthy" instance and destroy its disks and memory), taken out of its load
balancer target groups, cut off from the network by a security group with no rules, and only then are its
volumes snapshotted, so the snapshots show the state the responder contained.
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
        "security_groups": {eni["NetworkInterfaceId"]: sorted(g["GroupId"] for g in eni["Groups"])
                            for eni in instance.get("NetworkInterfaces", [])},
        "volumes": volumes(instance),
        "tags": {t["Key"]: t["Value"] for t in instance.get("Tags", [])},
        "termination_protection": protected["DisableApiTermination"]["Value"],
        "auto_scaling_group": auto_scaling_group(ctx, instance_id),
        "target_groups": registrations(ctx, instance),
        "snapshots": sorted(s["SnapshotId"] for s in snapshots),
    }


def volumes(instance: dict[str, Any]) -> list[str]:
    return [m["Ebs"]["VolumeId"] for m in instance.get("BlockDeviceMappings", []) if "Ebs" in m]


def isolate_instance(ctx: Context, args: argparse.Namespace) -> Plan:
    instance_id = args.instance_id
    instance = describe(ctx, instance_id)
    vpc_id = instance.get("VpcId")
    if not vpc_id:
        raise InputError(f"instance {instance_id} is not in a VPC; isolate it by hand")
    incident = args.incident or f"quarantine-{ctx.stamp}"
    before = state(ctx, instance_id, incident)
    existing_group = quarantine_group(ctx, vpc_id)
    changes = [
        f"tag {instance_id} {QUARANTINE_TAG}={ctx.stamp} and {INCIDENT_TAG}={incident}",
        f"enable termination protection on {instance_id}",
        *([f"detach {instance_id} from Auto Scaling group {before['auto_scaling_group']} (desired capacity kept: it launches a "
           "replacement)"] if before["auto_scaling_group"] else []),
        *[f"deregister {r['Target']['Id']}:{r['Target'].get('Port')} from {r['TargetGroupArn']}" for r in before["target_groups"]],
        f"{'reuse' if existing_group else 'create'} security group {QUARANTINE_GROUP} in {', '.join(sorted(vpcs(instance)))} "
        "with no ingress and no egress rules",
        f"replace the security groups of {', '.join(before['security_groups'])} with {QUARANTINE_GROUP} only",
        *[f"snapshot {v} tagged {INCIDENT_TAG}={incident}" for v in before["volumes"]],
    ]

    def apply() -> None:
        ec2 = ctx.client("ec2")
        tags = [{"Key": QUARANTINE_TAG, "Value": ctx.stamp}, {"Key": INCIDENT_TAG, "Value": incident}]
        ec2.create_tags(Resources=[instance_id], Tags=tags)
        ec2.modify_instance_attribute(InstanceId=instance_id, DisableApiTermination={"Value": True})
        if before["auto_scaling_group"]:
            ctx.client("autoscaling").detach_instances(InstanceIds=[instance_id], AutoScalingGroupName=before["auto_scaling_group"],
                                                       ShouldDecrementDesiredCapacity=False)
        # Detaching from the group already deregisters it from the group's target groups: look again.
        for registration in registrations(ctx, instance):
            ctx.client("elbv2").deregister_targets(TargetGroupArn=registration["TargetGroupArn"], Targets=[registration["Target"]])
        groups = {vpc: ensure_quarantine_group(ctx, vpc, incident) for vpc in vpcs(instance)}
        replace_groups(ctx, instance, groups)
        for volume_id in before["volumes"]:
            ec2.create_snapshot(
                VolumeId=volume_id, Description=f"CaseShield evidence {incident}: {volume_id} of {instance_id} at {ctx.stamp}",
                TagSpecifications=[{"ResourceType": "snapshot", "Tags": [
                    *tags, {"Key": "caseshield:source-instance", "Value": instance_id},
                    {"Key": "caseshield:source-volume", "Value": volume_id}]}])

    return Plan(target=instance_id, before={**before, "quarantine_group": existing_group}, changes=changes, apply=apply,
                observe=lambda: {**state(ctx, instance_id, incident), "quarantine_group": quarantine_group(ctx, vpc_id)})


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
