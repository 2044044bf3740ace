"""What the operator sees and does: health, stuck and set-aside messages, failed deliveries."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlmodel import Session, col, func, select

from storage import repo
from storage.db import Database
from storage.models import InboxMessage, Lease, OutboxItem
from workflow.delivery import ItemEvent, ItemState

STUCK_AFTER = timedelta(minutes=2)
"""A message stored but not handled for this long means intake is blocked."""
FAILING_AFTER = timedelta(minutes=10)
"""Chat messages still not delivered after this long mean a channel is failing."""
FAILING_PUBLISH_ATTEMPTS = 3
LEADER_LEASE = "scheduler"


@dataclass
class Health:
    """The state of a desk's Warta, as ``/health`` and ``warta status`` show it."""

    status: str
    reasons: list[str] = field(default_factory=list)
    figures: dict[str, Any] = field(default_factory=dict)

    def as_json(self) -> dict[str, Any]:
        return {"status": self.status, "reasons": self.reasons, **self.figures}


def _count(session: Session, *conditions: Any, table: Any = OutboxItem) -> int:
    return int(session.exec(select(func.count()).select_from(table).where(*conditions)).one())


def health(db: Database, *, now: datetime, since: datetime, unstorable: int = 0) -> Health:
    """Read the desk's health from the database (true for every instance at once).

    ``since`` is the start of the local day (messages sent per channel today)."""
    reasons: list[str] = []
    with db.transaction() as session:
        unhandled = (col(InboxMessage.processed_at).is_(None), col(InboxMessage.group_id).is_(None))
        stuck = _count(
            session, *unhandled, InboxMessage.received_at < now - STUCK_AFTER, table=InboxMessage
        )
        set_aside = _count(session, InboxMessage.outcome == "set_aside", table=InboxMessage)
        message = OutboxItem.kind != "publish"
        dead = _count(session, message, OutboxItem.status == ItemState.DEAD)
        failing = _count(
            session,
            message,
            col(OutboxItem.status).in_((ItemState.RETRYING, ItemState.IN_PROGRESS)),
            OutboxItem.attempts > 1,
            OutboxItem.created_at < now - FAILING_AFTER,
        )
        publish = OutboxItem.kind == "publish"
        publish_failed = _count(session, publish, OutboxItem.status == ItemState.FAILED)
        publish_failing = _count(
            session,
            publish,
            OutboxItem.status == ItemState.RETRYING,
            OutboxItem.attempts >= FAILING_PUBLISH_ATTEMPTS,
        )
        pending = _count(session, col(OutboxItem.status).in_((ItemState.PENDING,)))
        lease = session.get(Lease, LEADER_LEASE)
        sent_today = dict(
            session.exec(
                select(OutboxItem.channel, func.count())
                .where(
                    message,
                    OutboxItem.status == ItemState.SENT,
                    col(OutboxItem.done_at) >= since,
                )
                .group_by(OutboxItem.channel)
            ).all()
        )
    leader = lease.holder if lease is not None and lease.expires_at > now else None
    if stuck:
        reasons.append(f"intake blocked: {stuck} message(s) stored but not handled")
    if unstorable:
        reasons.append(f"{unstorable} message(s) could not be stored at all (see the log)")
    if set_aside:
        reasons.append(f"{set_aside} message(s) set aside after failing (warta inbox)")
    if dead:
        reasons.append(f"{dead} chat message(s) could not be delivered (warta outbox)")
    if failing:
        reasons.append(f"{failing} chat message(s) failing for over 10 minutes (channel down?)")
    if publish_failed:
        reasons.append(f"{publish_failed} publish job(s) failed (/ulang or /abaikan)")
    if publish_failing:
        reasons.append(f"{publish_failing} publish job(s) failing, still retrying")
    if leader is None:
        reasons.append("no instance leads the alarm clock (reminders and the digest wait)")
    return Health(
        status="degraded" if reasons else "ok",
        reasons=reasons,
        figures={
            "outbox_pending": pending,
            "outbox_failed": dead + publish_failed,
            "inbox_set_aside": set_aside,
            "inbox_stuck": stuck,
            "leader": leader,
            "sent_today": {str(channel): count for channel, count in sent_today.items()},
        },
    )


def set_aside_messages(db: Database) -> Sequence[InboxMessage]:
    with db.transaction() as session:
        return session.exec(
            select(InboxMessage)
            .where(InboxMessage.outcome == "set_aside")
            .order_by(col(InboxMessage.id))
        ).all()


def undelivered(db: Database) -> Sequence[OutboxItem]:
    """Chat messages that could not be delivered, and publish jobs that failed."""
    with db.transaction() as session:
        return session.exec(
            select(OutboxItem)
            .where(col(OutboxItem.status).in_((ItemState.DEAD, ItemState.FAILED)))
            .order_by(col(OutboxItem.id))
        ).all()


def resend(db: Database, ids: list[int] | None, *, now: datetime) -> list[int]:
    """Send dead chat messages again (all, or those named); return the ids queued."""
    done: list[int] = []
    with db.transaction() as session:
        query = select(OutboxItem).where(
            OutboxItem.status == ItemState.DEAD, OutboxItem.kind != "publish"
        )
        if ids is not None:
            query = query.where(col(OutboxItem.id).in_(ids))
        for item in session.exec(query):
            moved = _retry_now(session, item, now)
            if moved and item.id is not None:
                done.append(item.id)
    return done


def _retry_now(session: Session, item: OutboxItem, now: datetime) -> bool:
    return repo.move_item(
        session,
        item,
        ItemEvent.RETRY_NOW,
        now=now,
        result={"resent_at": now.isoformat()},  # a fresh window of retries starts now
        attempts=0,
        next_attempt_at=now,
        done_at=None,
    )
