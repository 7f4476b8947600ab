"""Every model module, imported in one place so mappers and Alembic see the whole schema."""

from app.account.models import Profile
from app.audit import AuditEntry
from app.auth.models import Role, User, UserSession
from app.mail import OutboxMessage

__all__ = ["AuditEntry", "OutboxMessage", "Profile", "Role", "User", "UserSession"]
