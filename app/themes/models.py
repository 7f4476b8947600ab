"""A clustering run of a consultation's opinions, its themes and where each opinion went."""

from __future__ import annotations

from datetime import datetime

from flask_babel import gettext
from sqlalchemy import (
    JSON,
    DateTime,
    Float,
    ForeignKey,
    Integer,
    LargeBinary,
    String,
    UniqueConstraint,
)
from sqlalchemy import false as sa_false
from sqlalchemy.orm import Mapped, deferred, mapped_column, relationship

from app.auth.models import User
from app.extensions import db
from app.timeutil import utcnow

QUEUED, RUNNING, DONE, FAILED = "queued", "running", "done", "failed"


class ThemeRun(db.Model):
    __tablename__ = "theme_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    consultation_id: Mapped[int] = mapped_column(
        ForeignKey("consultations.id", ondelete="CASCADE"), index=True
    )
    status: Mapped[str] = mapped_column(String(10), default=QUEUED)
    progress: Mapped[int] = mapped_column(Integer, default=0)  # percent
    requested_k: Mapped[int | None] = mapped_column(Integer)
    k: Mapped[int | None] = mapped_column(Integer)
    texts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(200))
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(DateTime(timezone=True), default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))
    #: the fitted model (pickled analytics.Model) that places new opinions until the next run
    model: Mapped[bytes | None] = deferred(mapped_column(LargeBinary))
    #: groups of people by their reactions (Pol.is): see operations.opinion_groups_of
    opinion_groups: Mapped[dict | None] = mapped_column(JSON)

    created_by: Mapped[User | None] = relationship()
    themes: Mapped[list[Theme]] = relationship(
        back_populates="run", order_by="Theme.id", cascade="all, delete-orphan"
    )


class Theme(db.Model):
    """A theme (level 1) or a finer theme inside one (level 2, with a parent)."""

    __tablename__ = "themes"

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("theme_runs.id", ondelete="CASCADE"), index=True)
    parent_id: Mapped[int | None] = mapped_column(ForeignKey("themes.id", ondelete="CASCADE"))
    key: Mapped[int] = mapped_column(Integer)  # stable across runs (level 1)
    label: Mapped[str] = mapped_column(String(200))
    keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    size: Mapped[int] = mapped_column(Integer)
    distinct: Mapped[int] = mapped_column(Integer)
    density: Mapped[float] = mapped_column(Float)
    x: Mapped[float] = mapped_column(Float, default=0.0)  # the members' mean map position
    y: Mapped[float] = mapped_column(Float, default=0.0)
    #: opinion ids: the representatives, then groups of copies (each a list of opinion ids)
    representatives: Mapped[list[int]] = mapped_column(JSON, default=list)
    copies: Mapped[list[list[int]]] = mapped_column(JSON, default=list)
    #: the label was written or kept by staff: the next grouping keeps it for this key
    pinned: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    #: answered opinions of earlier consultations that say much the same (ids), best first
    similar: Mapped[list[int]] = mapped_column(JSON, default=list, server_default="[]")
    #: the opinions that fit no theme (「その他の意見」): shown last, never answered whole
    other: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    #: the most central sentence of its opinions, trimmed: residents' own words
    summary: Mapped[str] = mapped_column(String(200), default="", server_default="")

    run: Mapped[ThemeRun] = relationship(back_populates="themes")
    children: Mapped[list[Theme]] = relationship(order_by="Theme.key")

    @property
    def shown_label(self) -> str:
        """The name staff see, in their language for 「その他の意見」."""
        return gettext("Other opinions") if self.other and not self.pinned else self.label


class ThemeMember(db.Model):
    __tablename__ = "theme_members"
    __table_args__ = (UniqueConstraint("run_id", "opinion_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    run_id: Mapped[int] = mapped_column(ForeignKey("theme_runs.id", ondelete="CASCADE"), index=True)
    opinion_id: Mapped[int] = mapped_column(
        ForeignKey("opinions.id", ondelete="CASCADE"), index=True
    )
    theme_id: Mapped[int] = mapped_column(ForeignKey("themes.id", ondelete="CASCADE"))
    subtheme_id: Mapped[int | None] = mapped_column(ForeignKey("themes.id", ondelete="CASCADE"))
    x: Mapped[float] = mapped_column(Float)
    y: Mapped[float] = mapped_column(Float)
    #: placed by the model after the run (a new opinion), not by the clustering itself
    placed: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    #: moved here by staff: the next grouping keeps it in the theme of the same key
    moved: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
    #: how well it fits its theme (0–1, analytics' Cluster.fit); None when placed or moved
    fit: Mapped[float | None] = mapped_column(Float)
    #: in its theme's core: an answer to the whole theme selects it without a staff tick
    core: Mapped[bool] = mapped_column(default=False, server_default=sa_false())
