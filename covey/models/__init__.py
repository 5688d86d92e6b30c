"""Every table, imported in one place so Alembic and the repositories see the same metadata."""

from covey.kit.db import Base
from covey.models.access_list import MODALITIES, AccessList
from covey.models.admin_session import AdminSession, SignInFailure
from covey.models.alert import WEBHOOK_FORMATS, AlertDelivery, AlertEvent, Webhook
from covey.models.api_key import PERMISSION_LEVELS, ApiKey
from covey.models.audit_event import AuditEvent
from covey.models.base import in_org
from covey.models.budget_line import BUDGET_OWNERS, BUDGET_PERIODS, DEFAULT_THRESHOLDS, ENFORCEMENTS, BudgetLine
from covey.models.group import GROUP_KINDS, MAX_DEPTH, Group
from covey.models.membership import GROUP_ROLES, Membership
from covey.models.organization import Organization
from covey.models.plane_change import PlaneChange
from covey.models.revision import Revision
from covey.models.routing_policy import POLICY_TYPES, RoutingPolicy
from covey.models.scim_token import ScimToken
from covey.models.sso import OrgSso, SsoLogin
from covey.models.stored_response import StoredResponse
from covey.models.usage_quarantine import QuarantinedUsage
from covey.models.usage_record import UsageCharge, UsageRecord
from covey.models.user import ORG_ROLES, USER_STATUSES, User, user_label

__all__ = [
    "BUDGET_OWNERS",
    "BUDGET_PERIODS",
    "DEFAULT_THRESHOLDS",
    "ENFORCEMENTS",
    "GROUP_KINDS",
    "GROUP_ROLES",
    "MAX_DEPTH",
    "MODALITIES",
    "ORG_ROLES",
    "PERMISSION_LEVELS",
    "POLICY_TYPES",
    "USER_STATUSES",
    "WEBHOOK_FORMATS",
    "AccessList",
    "AdminSession",
    "AlertDelivery",
    "AlertEvent",
    "ApiKey",
    "AuditEvent",
    "Base",
    "BudgetLine",
    "Group",
    "Membership",
    "OrgSso",
    "Organization",
    "PlaneChange",
    "QuarantinedUsage",
    "Revision",
    "RoutingPolicy",
    "ScimToken",
    "SignInFailure",
    "SsoLogin",
    "StoredResponse",
    "UsageCharge",
    "UsageRecord",
    "User",
    "Webhook",
    "in_org",
    "user_label",
]
