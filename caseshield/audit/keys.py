"""Live checks of the key hierarchy (KEY-*): rotation, key administrators kept from key use, services held to a source."""

from __future__ import annotations

from caseshield.audit import live_check
from caseshield.audit.account import Account, as_list, document, statements
from caseshield.role_matrix import load as load_matrix

KEY_USE = ("kms:encrypt", "kms:decrypt", "kms:reencrypt*", "kms:generatedatakey*")
SERVICE_SOURCE_KEYS = ("aws:sourceaccount", "aws:sourcearn", "kms:viaservice", "kms:calleraccount")
ENCRYPTION_CONTEXT = "kms:encryptioncontext:"


def key_policies(account: Account) -> dict[str, dict]:
    kms = account.client("kms")
    return {cls: document(kms.get_key_policy(KeyId=key, PolicyName="default")["Policy"])
            for cls, key in sorted(account.key_aliases.items())}


def condition_keys(statement: dict) -> set[str]:
    return {k.lower() for block in (statement.get("Condition") or {}).values() for k in block}


def principal_arns(statement: dict) -> set[str]:
    """Who a statement speaks of: its AWS principals and the aws:PrincipalArn values of its conditions."""
    found = {str(p) for p in as_list((statement.get("Principal") or {}).get("AWS") if isinstance(statement.get("Principal"), dict)
                                     else statement.get("Principal"))}
    for block in (statement.get("Condition") or {}).values():
        for key, value in block.items():
            if key.lower() == "aws:principalarn":
                found.update(str(v) for v in as_list(value))
    return found


@live_check("KEY-01", "kms:ListAliases", "kms:GetKeyRotationStatus")
def every_data_class_key_rotates(account: Account) -> list[str]:
    """Every data class of the role matrix has its own customer-managed key, and every one rotates."""
    kms, keys = account.client("kms"), account.key_aliases
    found = [f"data class {c} has no key alias/{account.prefix}/{c}" for c in sorted(load_matrix().actions) if c not in keys]
    shared = {k for k in keys.values() if list(keys.values()).count(k) > 1}
    found += [f"key {k} serves more than one data class" for k in sorted(shared)]
    found += [f"key of {c} ({k}) does not rotate" for c, k in sorted(keys.items())
              if not kms.get_key_rotation_status(KeyId=k)["KeyRotationEnabled"]]
    return found


@live_check("KEY-02", "kms:ListAliases", "kms:GetKeyPolicy")
def key_administrators_are_denied_key_use(account: Account) -> list[str]:
    """Every key policy denies its administrators (key-admin, ci-deployer) the cryptographic use of the key."""
    admins = {f"arn:{account.partition}:iam::{account.account_id}:role/{account.name(r)}" for r in load_matrix().key_administrators()}
    found = []
    for cls, policy in key_policies(account).items():
        denied: set[str] = set()
        for st in statements(policy):
            actions = {a.lower() for a in as_list(st.get("Action"))}
            uses = bool(actions & {*KEY_USE, "kms:*", "*"})
            named = principal_arns(st) & admins
            if st.get("Effect") == "Allow" and uses and named:
                found.append(f"key of {cls}: statement {st.get('Sid', '?')} lets {sorted(named)} use the key")
            if st.get("Effect") == "Deny" and ("kms:*" in actions or set(KEY_USE) <= actions):
                denied |= named
        if missing := admins - denied:
            found.append(f"key of {cls}: no Deny of {', '.join(KEY_USE)} for {sorted(missing)}")
    return found


@live_check("KEY-03", "kms:ListAliases", "kms:GetKeyPolicy")
def key_policies_hold_services_to_a_source(account: Account) -> list[str]:
    """Every key policy statement that allows an AWS service names our account, a source ARN or an encryption context."""
    found = []
    for cls, policy in key_policies(account).items():
        for st in statements(policy):
            principal = st.get("Principal")
            if st.get("Effect") != "Allow" or not isinstance(principal, dict) or "Service" not in principal:
                continue
            keys = condition_keys(st)
            if not (keys & set(SERVICE_SOURCE_KEYS) or any(k.startswith(ENCRYPTION_CONTEXT) for k in keys)):
                found.append(f"key of {cls}: statement {st.get('Sid', '?')} allows {principal['Service']} without a source condition")
    return found
