"""UserDirectory: the Cognito user pool the application's people sign in with, in front of the load balancer.

Why Cognito at the edge: the load balancer's authenticate-cognito action refuses every unauthenticated request
before it reaches the application, so a flaw in the application's own login cannot expose case data.

Accounts are created by administrators only (no self sign-up: clients and staff are onboarded, never
self-registered), every sign-in needs a TOTP second factor, and threat protection blocks risky sign-ins.
Groups mirror the human roles of the role matrix so the application authorises with the same vocabulary as IAM.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_aws as aws

from caseshield.role_matrix import RoleMatrix
from caseshield.settings import Settings
from components.base import child, stateful

PASSWORD_MIN_LENGTH = 14
# Cognito keeps at most 24 previous passwords; the same reuse rule as the IAM account password policy.
PASSWORD_HISTORY = 24
TEMPORARY_PASSWORD_DAYS = 1
ACCESS_TOKEN_HOURS = 1
ID_TOKEN_HOURS = 1
# A working day: after it, the user signs in again (with MFA).
REFRESH_TOKEN_HOURS = 12
OAUTH_SCOPES = ["openid", "email"]


@dataclass
class UserDirectoryArgs:
    settings: Settings
    matrix: RoleMatrix
    account_id: str


class UserDirectory(pulumi.ComponentResource):
    """User pool, one group per human role, the load balancer's app client and the hosted sign-in domain.

    The edge component uses `user_pool.arn`, `client.id` and `domain.domain` for authenticate-cognito.
    """

    user_pool: aws.cognito.UserPool
    client: aws.cognito.UserPoolClient
    domain: aws.cognito.UserPoolDomain
    groups: dict[str, aws.cognito.UserGroup]

    def __init__(self, name: str, args: UserDirectoryArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("caseshield:identity:UserDirectory", name, None, opts)
        s = args.settings
        self.user_pool = self._user_pool(name, s)
        # Group memberships are data (who may see which matters): protected like the pool in prod.
        self.groups = {
            role.name: aws.cognito.UserGroup(
                f"{name}-{role.name}",
                name=role.name,
                description=role.description[:2048],
                user_pool_id=self.user_pool.id,
                opts=stateful(self.user_pool, s),
            )
            for role in args.matrix.roles.values()
            if role.trust == "human"
        }
        self.client = self._client(name, s)
        self.domain = aws.cognito.UserPoolDomain(
            f"{name}-domain",
            # Prefix domains are global per region: the account id keeps ours unique, the prefix per stack.
            domain=f"{s.name_prefix}-{args.account_id}",
            user_pool_id=self.user_pool.id,
            opts=child(self.user_pool),
        )
        self.register_outputs({"user_pool_arn": self.user_pool.arn, "client_id": self.client.id,
                               "domain": self.domain.domain})

    def _user_pool(self, name: str, s: Settings) -> aws.cognito.UserPool:
        return aws.cognito.UserPool(
            f"{name}-users",
            name=f"{s.name_prefix}-users",
            username_attributes=["email"],
            auto_verified_attributes=["email"],
            mfa_configuration="ON",
            software_token_mfa_configuration=aws.cognito.UserPoolSoftwareTokenMfaConfigurationArgs(enabled=True),
            # Threat protection in ENFORCED mode (block risky sign-ins, compromised credentials) needs the Plus plan.
            user_pool_tier="PLUS",
            user_pool_add_ons=aws.cognito.UserPoolUserPoolAddOnsArgs(advanced_security_mode="ENFORCED"),
            password_policy=aws.cognito.UserPoolPasswordPolicyArgs(
                minimum_length=PASSWORD_MIN_LENGTH,
                require_uppercase=True,
                require_lowercase=True,
                require_numbers=True,
                require_symbols=True,
                password_history_size=PASSWORD_HISTORY,
                temporary_password_validity_days=TEMPORARY_PASSWORD_DAYS,
            ),
            admin_create_user_config=aws.cognito.UserPoolAdminCreateUserConfigArgs(allow_admin_create_user_only=True),
            # Recovery by verified e-mail only: SMS recovery is open to SIM swapping.
            account_recovery_setting=aws.cognito.UserPoolAccountRecoverySettingArgs(recovery_mechanisms=[
                aws.cognito.UserPoolAccountRecoverySettingRecoveryMechanismArgs(name="verified_email", priority=1),
            ]),
            deletion_protection="ACTIVE" if s.deletion_protection else "INACTIVE",
            opts=stateful(self, s),
        )

    def _client(self, name: str, s: Settings) -> aws.cognito.UserPoolClient:
        """The load balancer's confidential client: authorisation-code flow only, short-lived tokens."""
        return aws.cognito.UserPoolClient(
            f"{name}-app-client",
            name=f"{s.name_prefix}-app",
            user_pool_id=self.user_pool.id,
            generate_secret=True,
            allowed_oauth_flows_user_pool_client=True,
            allowed_oauth_flows=["code"],
            allowed_oauth_scopes=OAUTH_SCOPES,
            supported_identity_providers=["COGNITO"],
            callback_urls=[f"https://{s.domain_name}/oauth2/idpresponse"],
            explicit_auth_flows=["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"],
            # Sign-in and recovery answer the same for unknown users: no probing for who is a client of the firm.
            prevent_user_existence_errors="ENABLED",
            enable_token_revocation=True,
            access_token_validity=ACCESS_TOKEN_HOURS,
            id_token_validity=ID_TOKEN_HOURS,
            refresh_token_validity=REFRESH_TOKEN_HOURS,
            token_validity_units=aws.cognito.UserPoolClientTokenValidityUnitsArgs(
                access_token="hours", id_token="hours", refresh_token="hours"),
            opts=child(self.user_pool),
        )
