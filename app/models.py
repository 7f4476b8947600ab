"""Every model module, imported in one place so mappers and Alembic see the whole schema."""

from app.account.models import Profile
from app.audit import AuditEntry
from app.auth.models import Role, User, UserSession
from app.consultations.models import Consultation, Opinion, Reaction, Section
from app.mail import OutboxMessage
from app.moderation.models import BlockedWord, ModerationItem, Report, Sanction

__all__ = [
    "AuditEntry",
    "BlockedWord",
    "Consultation",
    "ModerationItem",
    "Opinion",
    "OutboxMessage",
    "Profile",
    "Reaction",
    "Report",
    "Role",
    "Sanction",
    "Section",
    "User",
    "UserSession",
]
