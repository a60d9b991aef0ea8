"""Live checks of the detective services: GuardDuty, Security Hub, AWS Config, Access Analyzer and Macie.

moto 5.2.5 cannot answer Security Hub's enabled standards, Access Analyzer or Macie's jobs; those checks are
tested with botocore's Stubber (`stub_tested=True`), with responses in the shapes of botocore's service models.
"""

from __future__ import annotations

from caseshield.audit import live_check
from caseshield.audit.account import Account
from policies.rules.identity import EXTERNAL_ACCESS_ANALYZERS
from policies.rules.monitoring import CONFIG_RULES, GUARDDUTY_FEATURES

SECURITY_HUB_STANDARDS = ("aws-foundational-security-best-practices", "cis-aws-foundations-benchmark/v/3.0.0", "nist-800-53")


@live_check("MON-01", "guardduty:ListDetectors", "guardduty:GetDetector")
def guardduty_watches_data_events_malware_and_logins(account: Account) -> list[str]:
    """The region's GuardDuty detector is enabled with S3 data events, EBS malware protection and RDS login events."""
    detector = account.client("guardduty").get_detector(DetectorId=account.detector_id)
    found = [] if detector.get("Status") == "ENABLED" else [f"detector {account.detector_id} is {detector.get('Status')}"]
    enabled = {f["Name"] for f in detector.get("Features", []) if f.get("Status") == "ENABLED"}
    return found + [f"GuardDuty feature {f} is not enabled" for f in GUARDDUTY_FEATURES if f not in enabled]


@live_check("MON-02", "securityhub:GetEnabledStandards", stub_tested=True)
def security_hub_scores_fsbp_cis_and_nist(account: Account) -> list[str]:
    """Security Hub has the AWS FSBP, CIS AWS Foundations v3.0.0 and NIST SP 800-53 standards READY."""
    hub = account.client("securityhub")
    subscriptions = [s for page in hub.get_paginator("get_enabled_standards").paginate() for s in page["StandardsSubscriptions"]]
    ready = [s["StandardsArn"] for s in subscriptions if s.get("StandardsStatus") == "READY"]
    return [f"Security Hub standard {s} is not enabled and ready" for s in SECURITY_HUB_STANDARDS if not any(s in arn for arn in ready)]


@live_check("MON-03", "config:DescribeConfigurationRecorders", "config:DescribeConfigurationRecorderStatus",
            "config:DescribeDeliveryChannels", "config:DescribeConfigRules", "s3:ListAllMyBuckets", "s3:GetBucketTagging")
def config_records_everything_into_the_archive(account: Account) -> list[str]:
    """AWS Config records every resource type (global ones too), is recording, delivers to the audit archive and
    runs the managed rules."""
    config, found = account.client("config"), []
    recorders = config.describe_configuration_recorders()["ConfigurationRecorders"]
    group = recorders[0].get("recordingGroup", {}) if recorders else {}
    if not group.get("allSupported") or not group.get("includeGlobalResourceTypes"):
        found.append(f"the Config recorder records {group or 'nothing'}, not every resource type")
    status = config.describe_configuration_recorder_status()["ConfigurationRecordersStatus"]
    if not status or not status[0].get("recording"):
        found.append("the Config recorder is not recording")
    channels = config.describe_delivery_channels()["DeliveryChannels"]
    if not channels or channels[0].get("s3BucketName") != account.archive_bucket:
        found.append(f"Config delivers to {channels[0].get('s3BucketName') if channels else 'nowhere'}, not the audit archive")
    deployed = {r["Source"]["SourceIdentifier"] for page in config.get_paginator("describe_config_rules").paginate()
                for r in page["ConfigRules"] if r["Source"]["Owner"] == "AWS"}
    if missing := [r for r in CONFIG_RULES if r not in deployed]:
        found.append(f"managed Config rules are missing: {missing}")
    return found


@live_check("IAM-09", "access-analyzer:ListAnalyzers", stub_tested=True)
def access_analyzer_watches_the_account(account: Account) -> list[str]:
    """An active account (or organization) external-access analyzer watches the region."""
    analyzers = account.client("accessanalyzer").list_analyzers()["analyzers"]
    if not any(a["type"] in EXTERNAL_ACCESS_ANALYZERS and a.get("status") == "ACTIVE" for a in analyzers):
        return ["no active external-access analyzer in the region"]
    return []


@live_check("PRIV-02", "macie2:GetMacieSession", "macie2:ListClassificationJobs", "s3:ListAllMyBuckets", "s3:GetBucketTagging",
            stub_tested=True)
def macie_classifies_the_case_documents(account: Account) -> list[str]:
    """Macie is enabled and a scheduled, running classification job covers the case-documents bucket."""
    macie, found = account.client("macie2"), []
    if macie.get_macie_session().get("status") != "ENABLED":
        found.append("Macie is not enabled")
    jobs = macie.list_classification_jobs()["items"]
    covering = [j for j in jobs if j.get("jobType") == "SCHEDULED" and j.get("jobStatus") in ("RUNNING", "IDLE")
                and any(account.documents_bucket in d.get("buckets", []) for d in j.get("bucketDefinitions", []))]
    if not covering:
        found.append(f"no scheduled, active Macie job covers {account.documents_bucket}")
    return found
