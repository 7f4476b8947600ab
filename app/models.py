"""Every model module, imported in one place so mappers and Alembic see the whole schema."""

import app.search  # noqa: F401  (keeps the search keys: a listener on every flush)
from app.account.models import Profile
from app.audit import AuditEntry
from app.auth.models import Role, User, UserSession
from app.consultations.models import (
    Answer,
    Attachment,
    Consultation,
    Follow,
    Opinion,
    Reaction,
    Section,
)
from app.events.chat_models import ChatMeasure, ChatMessage
from app.events.models import Event, Registration
from app.events.qa_models import Captioner, CaptionLine, Question, QuestionVote
from app.forms.models import Draft, FormField, OnlineForm, Submission, TextGrouping
from app.jobs import Job
from app.mail import OutboxMessage
from app.moderation.models import BlockedWord, ModerationItem, Report, Sanction
from app.notifications.models import Notification
from app.themes.models import Theme, ThemeMember, ThemeRun

__all__ = [
    "Answer",
    "Attachment",
    "AuditEntry",
    "BlockedWord",
    "CaptionLine",
    "Captioner",
    "ChatMeasure",
    "ChatMessage",
    "Consultation",
    "Draft",
    "Event",
    "Follow",
    "FormField",
    "Job",
    "ModerationItem",
    "Notification",
    "OnlineForm",
    "Opinion",
    "OutboxMessage",
    "Profile",
    "Question",
    "QuestionVote",
    "Reaction",
    "Registration",
    "Report",
    "Role",
    "Sanction",
    "Section",
    "Submission",
    "TextGrouping",
    "Theme",
    "ThemeMember",
    "ThemeRun",
    "User",
    "UserSession",
]
