"""Repositories: the queries and writes the handlers make, each inside the caller's transaction."""

from __future__ import annotations

import logging
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import bindparam, exists, func, or_, text, update
from sqlalchemy import select as core_select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.attributes import set_committed_value
from sqlmodel import Session, col, select

from storage import clocks, search
from storage.db import OUTBOX_WRITTEN
from storage.models import (
    AuditEvent,
    ChecklistMark,
    Counter,
    Identity,
    InboxMessage,
    Media,
    MemberSetting,
    OutboxItem,
    Person,
    PersonRole,
    Story,
    StoryCard,
    StoryMessage,
    StoryVersion,
)
from storage.sql import core as _core
from storage.sql import insert_ignoring_conflict as _insert_ignoring_conflict
from workflow.delivery import UNFINISHED, ItemEvent, ItemState, lifecycle_of
from workflow.lifecycle import Actor, Decision, Role, StoryFacts, StoryState
from workflow.sla import (
    SlaPolicy,
    Step,
    completes_step,
    starts_new_step,
    step_holder,
    step_of,
)

log = logging.getLogger(__name__)

OPEN_STATES = tuple(
    state for state in StoryState if state not in (StoryState.SPIKED, StoryState.ARCHIVED)
)


class StaleStory(RuntimeError):
    """Another transaction changed the story first; the caller decides again on fresh data."""


# -- people -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class PersonRecord:
    id: int
    key: str
    name: str
    roles: frozenset[Role]
    locale: str | None
    addresses: dict[str, str]
    prefer: str | None = None
    """The channel they want to be reached on privately (when they have several)."""

    def actor(self) -> Actor:
        return Actor(person_id=self.id, name=self.name, roles=self.roles)


def sync_people(session: Session, people: Iterable[Any]) -> None:
    """Mirror the configured people (key, name, roles, identities) into the tables.

    Several instances may start at once: on PostgreSQL a transaction-scoped advisory lock
    makes them take turns (SQLite's immediate transactions already do), and only what
    differs is written, so a second instance finds nothing to change.
    """
    if session.get_bind().dialect.name == "postgresql":
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": PEOPLE_LOCK})
    wanted = {person.key: person for person in people}
    existing = {row.key: row for row in session.exec(select(Person))}
    for key, row in existing.items():
        if key not in wanted and row.active:
            row.active = False
            session.add(row)
    session.flush()
    roles_now: dict[int, set[str]] = {}
    for person_id, role in session.exec(select(PersonRole.person_id, PersonRole.role)):
        roles_now.setdefault(person_id, set()).add(role)
    identities_now: dict[int, dict[str, Identity]] = {}
    for identity in session.exec(select(Identity)):
        identities_now.setdefault(identity.person_id, {})[identity.channel] = identity
    for key, config in wanted.items():
        row = existing.get(key) or Person(key=key, name=config.name)
        prefer = getattr(config, "prefer", None)
        if (row.name, row.active, row.locale, row.prefer) != (
            config.name,
            True,
            config.locale,
            prefer,
        ):
            row.name, row.active, row.locale, row.prefer = config.name, True, config.locale, prefer
            session.add(row)
        if row.id is None:
            session.add(row)
            session.flush()
        assert row.id is not None
        wanted_roles = {role.value for role in config.roles}
        have_roles = roles_now.get(row.id, set())
        for role in have_roles - wanted_roles:
            session.execute(
                PersonRole.__table__.delete().where(
                    PersonRole.person_id == row.id, PersonRole.role == role
                )
            )
        for role in sorted(wanted_roles - have_roles):
            session.add(PersonRole(person_id=row.id, role=role))
        wanted_addresses = _addresses(config)
        have = identities_now.get(row.id, {})
        for channel, identity in have.items():
            if wanted_addresses.get(channel) != identity.address:
                session.delete(identity)
        session.flush()
        for channel, address in wanted_addresses.items():
            if channel not in have or have[channel].address != address:
                session.add(Identity(person_id=row.id, channel=channel, address=address))
    session.flush()


PEOPLE_LOCK = 0x57415254  # "WART": the advisory lock of the people's mirror


def member_modes(session: Session, channel: str) -> dict[int, str]:
    """What each member chose to receive in a channel's virtual group (``all``/``mine``)."""
    rows = session.exec(
        select(MemberSetting.person_id, MemberSetting.mode).where(MemberSetting.channel == channel)
    ).all()
    return dict(rows)


def set_member_mode(
    session: Session, *, person_id: int, channel: str, mode: str, now: datetime
) -> None:
    row = session.get(MemberSetting, (person_id, channel)) or MemberSetting(
        person_id=person_id, channel=channel, mode=mode, updated_at=now
    )
    row.mode, row.updated_at = mode, now
    session.add(row)


def _addresses(config: Any) -> dict[str, str]:
    addresses = {
        "telegram": str(config.telegram) if config.telegram is not None else None,
        "whatsapp": config.whatsapp,
        "email": config.email,
        "local": config.key,
        "playground": config.key,
    }
    return {channel: address for channel, address in addresses.items() if address}


@dataclass(frozen=True)
class PeopleDirectory:
    """Every active person, read once: people change only when the config is loaded."""

    by_id: dict[int, PersonRecord]
    by_address: dict[tuple[str, str], PersonRecord]

    def get(self, person_id: int | None) -> PersonRecord | None:
        return self.by_id.get(person_id) if person_id is not None else None

    def find(self, channel: str, address: str) -> PersonRecord | None:
        return self.by_address.get((channel, address))

    def find_name(self, text: str) -> PersonRecord | None:
        """A person by key, full name or unambiguous first name (any case, "@" allowed)."""
        wanted = text.strip().lstrip("@").lower()
        people = list(self.by_id.values())
        for match in (
            lambda p: p.key.lower() == wanted,
            lambda p: p.name.lower() == wanted,
            lambda p: p.name.lower().split()[0] == wanted if p.name.split() else False,
        ):
            found = [person for person in people if match(person)]
            if len(found) == 1:
                return found[0]
        return None

    def with_role(self, role: Role) -> list[PersonRecord]:
        return sorted(
            (person for person in self.by_id.values() if role in person.roles),
            key=lambda person: person.name,
        )


def load_people(session: Session) -> PeopleDirectory:
    """Read people, roles and identities in three queries; inactive people keep their history
    (``by_id``) but are no longer recognised by address."""
    roles: dict[int, set[Role]] = {}
    for person_id, role in session.exec(select(PersonRole.person_id, PersonRole.role)):
        roles.setdefault(person_id, set()).add(Role(role))
    addresses: dict[int, dict[str, str]] = {}
    for identity in session.exec(select(Identity)):
        addresses.setdefault(identity.person_id, {})[identity.channel] = identity.address
    by_id: dict[int, PersonRecord] = {}
    by_address: dict[tuple[str, str], PersonRecord] = {}
    for person in session.exec(select(Person)):
        assert person.id is not None
        record = PersonRecord(
            id=person.id,
            key=person.key,
            name=person.name,
            roles=frozenset(roles.get(person.id, ())) if person.active else frozenset(),
            locale=person.locale,
            addresses=addresses.get(person.id, {}) if person.active else {},
            prefer=person.prefer,
        )
        by_id[person.id] = record
        for channel, address in record.addresses.items():
            by_address[(channel, address)] = record
    return PeopleDirectory(by_id=by_id, by_address=by_address)


# -- inbox ------------------------------------------------------------------------------------


_INBOX = InboxMessage.__table__
_OUTBOX = OutboxItem.__table__
_AUDIT = AuditEvent.__table__
_STORY = Story.__table__
_FINISH_INBOUND = (
    update(_INBOX)
    .where(_INBOX.c.id == bindparam("inbox_id"))
    .values(processed_at=bindparam("processed_at"), outcome=bindparam("outcome"))
)
_OUTBOX_INSERT = _OUTBOX.insert().returning(_OUTBOX.c.id)
_AUDIT_INSERT = _AUDIT.insert()
_GUARDED_STORY_UPDATE = _STORY.update().where(
    _STORY.c.id == bindparam("story_id"), _STORY.c.lock_version == bindparam("read_version")
)


def store_inbound(
    session: Session,
    *,
    channel: str,
    chat_id: str,
    message_id: str,
    sender: str,
    text: str | None,
    payload: dict[str, Any],
    now: datetime,
    group_id: str | None = None,
) -> tuple[int, bool, str | None]:
    """Store an inbound message once; return its row id, whether it still needs handling
    (False when an earlier delivery of the same message was already handled) and the outcome
    of that earlier handling."""
    statement = _insert_ignoring_conflict(session, _INBOX, returning=_INBOX.c.id)
    inserted = _core(
        session,
        statement,
        {
            "channel": channel,
            "chat_id": chat_id,
            "message_id": message_id,
            "sender": sender,
            "text": text,
            "payload": payload,
            "received_at": now,
            "group_id": group_id,
        },
    ).scalar_one_or_none()
    if inserted is not None:
        return int(inserted), True, None
    # Lock the row: two processes handling the same stored message take turns, and the second
    # sees it handled.
    found = session.exec(
        select(InboxMessage)
        .where(
            InboxMessage.channel == channel,
            InboxMessage.chat_id == chat_id,
            InboxMessage.message_id == message_id,
        )
        .with_for_update()
        .execution_options(populate_existing=True)
    ).first()
    assert found is not None and found.id is not None
    return found.id, found.processed_at is None, found.outcome


def finish_inbound(session: Session, inbox_id: int, *, outcome: str, now: datetime) -> None:
    _core(session, _FINISH_INBOUND, {"inbox_id": inbox_id, "processed_at": now, "outcome": outcome})


def set_aside_inbound(session: Session, inbox_id: int, *, error: str, now: datetime) -> None:
    """Mark a message whose handling failed: kept, with its reason, for ``warta inbox``."""
    row = session.get(InboxMessage, inbox_id)
    assert row is not None
    row.processed_at, row.outcome = now, "set_aside"
    row.attempts += 1
    row.last_error = error[:2000]
    session.add(row)


def set_aside_inbox(session: Session, inbox_ids: list[int] | None = None) -> Sequence[InboxMessage]:
    """Messages set aside after their handling failed (all, or those named), oldest first.
    Named, a mail from an unknown sender is handled again too (its address was added)."""
    query = select(InboxMessage).where(InboxMessage.outcome == "set_aside")
    if inbox_ids is not None:
        query = select(InboxMessage).where(
            col(InboxMessage.outcome).in_(("set_aside", "unknown_sender")),
            col(InboxMessage.id).in_(inbox_ids),
        )
    return session.exec(query.order_by(col(InboxMessage.id))).all()


def pending_album_parts(
    session: Session,
) -> dict[tuple[str, str, str], list[InboxMessage]]:
    """Album parts waiting to be handled, by (channel, chat, album), in arrival order."""
    rows = session.exec(
        select(InboxMessage)
        .where(col(InboxMessage.processed_at).is_(None), col(InboxMessage.group_id).is_not(None))
        .order_by(col(InboxMessage.id))
    )
    groups: dict[tuple[str, str, str], list[InboxMessage]] = {}
    for row in rows:
        groups.setdefault((row.channel, row.chat_id, row.group_id or ""), []).append(row)
    return groups


def handled_album_part(session: Session, channel: str, chat_id: str, group_id: str) -> str | None:
    """The message id of an already handled part of the album, if any (its story exists)."""
    return session.exec(
        select(InboxMessage.message_id)
        .where(
            InboxMessage.channel == channel,
            InboxMessage.chat_id == chat_id,
            InboxMessage.group_id == group_id,
            col(InboxMessage.processed_at).is_not(None),
            col(InboxMessage.outcome).not_like("album:%"),
        )
        .order_by(col(InboxMessage.id))
    ).first()


def find_inbound(
    session: Session, channel: str, chat_id: str, message_id: str
) -> InboxMessage | None:
    return session.exec(
        select(InboxMessage).where(
            InboxMessage.channel == channel,
            InboxMessage.chat_id == chat_id,
            InboxMessage.message_id == message_id,
        )
    ).first()


_RECENT_CHATS = (
    core_select(_INBOX.c.channel, _INBOX.c.chat_id, _INBOX.c.payload)
    .order_by(_INBOX.c.id.desc())
    .limit(bindparam("look_back"))
)


def latest_group_chat(session: Session, *, look_back: int = 200) -> tuple[str, str] | None:
    """The (channel, chat) of the most recent inbound message from a group chat."""
    rows = _core(session, _RECENT_CHATS, {"look_back": look_back})
    try:
        # Read row by row, newest first: the payloads are decoded only up to the first group
        # message (usually the newest), not all ``look_back`` of them.
        for channel, chat_id, payload in rows:
            if (payload or {}).get("chat_kind") == "group":
                return channel, chat_id
    finally:
        rows.close()
    return None


def unprocessed_inbox(session: Session, *, limit: int = 100) -> Sequence[InboxMessage]:
    """Messages stored but not handled, except album parts (see :func:`pending_album_parts`)."""
    return session.exec(
        select(InboxMessage)
        .where(col(InboxMessage.processed_at).is_(None), col(InboxMessage.group_id).is_(None))
        .order_by(col(InboxMessage.id))
        .limit(limit)
    ).all()


# -- outbox -----------------------------------------------------------------------------------


def enqueue_message(
    session: Session,
    *,
    channel: str,
    recipient: str,
    text: str,
    now: datetime,
    story_id: int | None = None,
    inbox_id: int | None = None,
    reply_to: str | None = None,
    buttons: list[dict[str, Any]] | None = None,
    about: str | None = None,
    template: str | None = None,
    document: dict[str, Any] | None = None,
) -> int:
    """Queue a message for delivery after commit (with answer buttons when given; with a
    ``document`` to make at delivery and send with it, such as a monthly report); returns
    the outbox id. ``about`` names what it is about (``sla:<clock>:<point>``), so that a later
    message can supersede it while it is still unsent."""
    session.info[OUTBOX_WRITTEN] = True
    payload: dict[str, Any] = {}
    if buttons:
        payload["buttons"] = buttons
    if about:
        payload["about"] = about
    if template:
        payload["template"] = template  # the kind of message (a channel may need a form of it)
    if document:
        payload["document"] = document
    return int(
        _core(
            session,
            _OUTBOX_INSERT,
            {
                "kind": "message",
                "channel": channel,
                "recipient": recipient,
                "text": text,
                "story_id": story_id,
                "inbox_id": inbox_id,
                "reply_to": reply_to,
                "payload": payload,
                "result": {},
                "status": ItemState.PENDING.value,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            },
        ).scalar_one()
    )


def supersede_messages(
    session: Session, *, story_id: int | None, about_prefix: str, now: datetime
) -> int:
    """Mark unsent messages about ``about_prefix…`` superseded (they no longer matter)."""
    query = select(OutboxItem).where(
        OutboxItem.kind == "message",
        col(OutboxItem.status).in_((ItemState.PENDING, ItemState.RETRYING, ItemState.DEAD)),
    )
    if story_id is not None:
        query = query.where(OutboxItem.story_id == story_id)
    done = 0
    for item in session.exec(query):
        if str(item.payload.get("about", "")).startswith(about_prefix):
            done += move_item(session, item, ItemEvent.SUPERSEDE, now=now)
    return done


def enqueue_item(
    session: Session,
    *,
    kind: str,
    channel: str,
    recipient: str,
    now: datetime,
    text: str | None = None,
    story_id: int | None = None,
    inbox_id: int | None = None,
) -> int:
    """Queue any other outbound item (a card, a button answer) for the dispatcher."""
    session.info[OUTBOX_WRITTEN] = True
    return int(
        _core(
            session,
            _OUTBOX_INSERT,
            {
                "kind": kind,
                "channel": channel,
                "recipient": recipient,
                "text": text,
                "story_id": story_id,
                "inbox_id": inbox_id,
                "reply_to": None,
                "payload": {},
                "result": {},
                "status": ItemState.PENDING.value,
                "attempts": 0,
                "next_attempt_at": now,
                "created_at": now,
            },
        ).scalar_one()
    )


def _typed(name: str) -> Any:
    """A parameter typed as the outbox column it fills (PostgreSQL needs the type of a value
    that is selected rather than inserted)."""
    return bindparam(name, type_=_OUTBOX.c[name].type)


# Insert the card unless one is waiting; its rowcount says which (an INSERT's rowcount is
# kept for PostgreSQL only when asked for).
_CARD_WAITING = _OUTBOX.alias("waiting")
_CARD_COLUMNS = (
    "kind",
    "channel",
    "recipient",
    "story_id",
    "payload",
    "result",
    "status",
    "attempts",
    "next_attempt_at",
    "created_at",
)
_ENQUEUE_CARD = (
    _OUTBOX.insert()
    .from_select(
        _CARD_COLUMNS,
        core_select(*(_typed(name) for name in _CARD_COLUMNS)).where(
            ~exists().where(
                _CARD_WAITING.c.kind == "card",
                _CARD_WAITING.c.story_id == bindparam("story_id"),
                _CARD_WAITING.c.channel == bindparam("channel"),
                _CARD_WAITING.c.recipient == bindparam("recipient"),
                or_(
                    _CARD_WAITING.c.status == ItemState.PENDING.value,
                    _CARD_WAITING.c.status == ItemState.RETRYING.value,
                ),
            )
        ),
    )
    .execution_options(preserve_rowcount=True)
)


def enqueue_card(
    session: Session, *, story_id: int, channel: str, chat_id: str, now: datetime
) -> None:
    """Queue a redraw of a story's card, unless one is already waiting (one statement: the
    check and the insert run for every story a message touches)."""
    inserted = _core(
        session,
        _ENQUEUE_CARD,
        {
            "kind": "card",
            "channel": channel,
            "recipient": chat_id,
            "story_id": story_id,
            "payload": {},
            "result": {},
            "status": ItemState.PENDING.value,
            "attempts": 0,
            "next_attempt_at": now,
            "created_at": now,
        },
    )
    if inserted.rowcount:
        session.info[OUTBOX_WRITTEN] = True


def move_item(
    session: Session,
    item: OutboxItem,
    event: ItemEvent,
    *,
    now: datetime,
    result: dict[str, Any] | None = None,
    **changes: Any,
) -> bool:
    """The one writer of an outbox item's status: move it as its lifecycle's table allows
    (False, and nothing written, when the table does not allow ``event`` now)."""
    target = lifecycle_of(item.kind).next(item.status, event)
    if target is None:
        return False
    item.status = target.value
    if target is ItemState.PENDING:
        session.info[OUTBOX_WRITTEN] = True
    if target not in UNFINISHED:
        item.done_at, item.claimed_until = now, None
    elif target is not ItemState.IN_PROGRESS:
        item.claimed_until = None
    for name, value in changes.items():
        setattr(item, name, value)
    if result:
        item.result = {**item.result, **result}
    session.add(item)
    return True


def mark_done(session: Session, item_id: int, *, now: datetime, result: dict[str, Any]) -> None:
    item = session.get(OutboxItem, item_id)
    assert item is not None
    if not move_item(session, item, ItemEvent.DELIVERED, now=now, result=result):
        log.info("outbox %s is %s; its delivery is not recorded", item_id, item.status)


def card_record(session: Session, story_id: int, channel: str, chat_id: str) -> StoryCard | None:
    """The message that shows a story's card in a chat, and the state it shows."""
    return session.exec(
        select(StoryCard).where(
            StoryCard.story_id == story_id,
            StoryCard.channel == channel,
            StoryCard.chat_id == chat_id,
        )
    ).first()


def save_card(
    session: Session,
    *,
    story_id: int,
    channel: str,
    chat_id: str,
    message_id: str,
    now: datetime,
    state: str | None = None,
) -> None:
    card = card_record(session, story_id, channel, chat_id) or StoryCard(
        story_id=story_id, channel=channel, chat_id=chat_id, message_id=""
    )
    card.message_id, card.state, card.updated_at = message_id, state, now
    session.add(card)


_PUBLISH_JOBS = (
    select(OutboxItem)
    .where(OutboxItem.kind == "publish", OutboxItem.story_id == bindparam("story_id"))
    .order_by(col(OutboxItem.id))
)


def latest_publications(session: Session, story_id: int) -> list[OutboxItem]:
    """The publish jobs of the story's most recent /publish."""
    jobs = session.exec(_PUBLISH_JOBS, params={"story_id": story_id}).all()
    if not jobs:
        return []
    latest = max(int(job.payload.get("round", 0)) for job in jobs)
    return [job for job in jobs if int(job.payload.get("round", 0)) == latest]


def known_remote_id(session: Session, story_id: int, target: str) -> str | None:
    """The id of the post a target made for this story before (a correction updates it)."""
    rows = session.exec(
        select(OutboxItem)
        .where(
            OutboxItem.kind == "publish",
            OutboxItem.story_id == story_id,
            OutboxItem.target == target,
        )
        .order_by(col(OutboxItem.id).desc())
    )
    return next((str(r.result["remote_id"]) for r in rows if r.result.get("remote_id")), None)


def enqueue_publish(
    session: Session, *, story_id: int, target: str, publish_round: int, now: datetime
) -> OutboxItem:
    session.info[OUTBOX_WRITTEN] = True
    item = OutboxItem(
        kind="publish",
        target=target,
        story_id=story_id,
        payload={"round": publish_round},
        next_attempt_at=now,
        created_at=now,
    )
    session.add(item)
    return item


Lane = tuple[str, str]
ORDERED_KINDS = ("message", "card")


def lane_of(item: OutboxItem) -> Lane:
    """Items in one lane go out one after another, in order: a chat's messages and cards, or
    one story's publishing to one target. A button answer is a lane of its own."""
    if item.kind == "publish":
        return ("publish", f"{item.story_id}:{item.target}")
    if item.kind == "callback":
        return ("callback", item.recipient or "")
    return (item.channel or "", item.recipient or "")


def claim_due(
    session: Session,
    *,
    now: datetime,
    lease: timedelta,
    limit: int,
    busy: frozenset[Lane] = frozenset(),
    per_lane: int = 10,
    instance: str | None = None,
) -> list[OutboxItem]:
    """Take due items for this worker, oldest first, keeping each chat's order.

    An item is skipped while an earlier item of its chat is waiting for a retry or is held
    by a worker (this one, ``busy``, or another whose lease has not run out), so a message
    never overtakes one sent before it. At most ``per_lane`` items of a lane are taken at
    once, so a slow chat cannot hold more than its lease can cover.
    """
    unfinished = session.exec(
        select(OutboxItem)
        .where(col(OutboxItem.status).in_(UNFINISHED))
        .order_by(col(OutboxItem.id))
        .limit(5000)
    ).all()
    blocked: set[Lane] = set(busy)
    taken: dict[Lane, int] = {}
    claimed: list[OutboxItem] = []
    for item in unfinished:
        lane = lane_of(item)
        if lane in blocked:
            continue
        in_progress = item.status == ItemState.IN_PROGRESS
        held = in_progress and item.claimed_until is not None and item.claimed_until > now
        if held or item.next_attempt_at > now or taken.get(lane, 0) >= per_lane:
            if item.kind in ORDERED_KINDS or held:
                blocked.add(lane)
            continue
        result = session.execute(
            update(OutboxItem)
            .where(
                col(OutboxItem.id) == item.id,
                col(OutboxItem.status) == item.status,
                col(OutboxItem.attempts) == item.attempts,
            )
            .values(
                status=lifecycle_of(item.kind).next(item.status, ItemEvent.CLAIM),
                claimed_until=now + lease,
                claimed_by=instance,
                attempts=item.attempts + 1,
            )
            .execution_options(synchronize_session=False)
        )
        if result.rowcount != 1:  # type: ignore[attr-defined]
            blocked.add(lane)  # another worker took it: the rest of its lane is theirs too
            continue
        session.refresh(item)
        claimed.append(item)
        taken[lane] = taken.get(lane, 0) + 1
        if len(claimed) >= limit:
            break
    return claimed


def renew_claims(session: Session, *, instance: str, until: datetime) -> int:
    """Extend the claims ``instance`` holds on items it is still working on."""
    result = session.execute(
        update(OutboxItem)
        .where(
            col(OutboxItem.claimed_by) == instance,
            col(OutboxItem.status) == ItemState.IN_PROGRESS,
        )
        .values(claimed_until=until)
        .execution_options(synchronize_session=False)
    )
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


def publish_round_items(session: Session, story_id: int, publish_round: int) -> list[OutboxItem]:
    rows = session.exec(
        select(OutboxItem).where(OutboxItem.kind == "publish", OutboxItem.story_id == story_id)
    ).all()
    return [row for row in rows if row.payload.get("round") == publish_round]


def outbox_items(session: Session, *, story_id: int | None = None) -> Sequence[OutboxItem]:
    query = select(OutboxItem).order_by(col(OutboxItem.id))
    if story_id is not None:
        query = query.where(OutboxItem.story_id == story_id)
    return session.exec(query).all()


_WAITING = (ItemState.PENDING, ItemState.RETRYING)


def _chat_items(session: Session, channel: str, recipient: str) -> Sequence[OutboxItem]:
    """A chat's messages and cards still to be sent (not being sent now), oldest first,
    locked (two instances moving them at once take turns, the second sees them moved)."""
    return session.exec(
        select(OutboxItem)
        .where(
            OutboxItem.channel == channel,
            OutboxItem.recipient == recipient,
            col(OutboxItem.kind).in_(ORDERED_KINDS),
            col(OutboxItem.status).in_(_WAITING),
        )
        .order_by(col(OutboxItem.id))
        .with_for_update()
        .execution_options(populate_existing=True)
    ).all()


def release_waiting(session: Session, *, channel: str, recipient: str, now: datetime) -> int:
    """Make a chat's waiting messages due now (its member wrote: WhatsApp lets them through);
    returns how many were waiting."""
    released = 0
    for item in _chat_items(session, channel, recipient):
        if item.next_attempt_at > now:
            item.next_attempt_at = now
            session.add(item)
            released += 1
    if released:
        session.info[OUTBOX_WRITTEN] = True
    return released


def unsent_count(session: Session, *, channel: str, recipient: str) -> int:
    """How many messages and cards to a chat are not sent yet (being sent included)."""
    return int(
        session.exec(
            select(func.count())
            .select_from(OutboxItem)
            .where(
                OutboxItem.channel == channel,
                OutboxItem.recipient == recipient,
                col(OutboxItem.kind).in_(ORDERED_KINDS),
                col(OutboxItem.status).in_(UNFINISHED),
            )
        ).one()
    )


def let_pass(
    session: Session, *, channel: str, recipient: str, kinds: Iterable[str], now: datetime
) -> int:
    """In a chat whose first messages must wait (a WhatsApp member outside the 24-hour
    window), let the later messages of ``kinds`` (those the channel can send now, as approved
    templates) go first: every other unsent message before the last of them is superseded and
    queued again, unchanged, behind it. Returns how many were moved."""
    items = _chat_items(session, channel, recipient)
    passable = {
        item.id
        for item in items
        if item.kind == "message" and item.payload.get("template") in set(kinds)
    }
    if not passable:
        return 0
    last = max(item_id for item_id in passable if item_id is not None)
    moved = 0
    for item in items:
        if item.id is None or item.id >= last or item.id in passable:
            continue
        if not move_item(session, item, ItemEvent.SUPERSEDE, now=now, result={"moved": True}):
            continue
        session.add(
            OutboxItem(
                kind=item.kind,
                channel=item.channel,
                recipient=item.recipient,
                story_id=item.story_id,
                inbox_id=item.inbox_id,
                reply_to=item.reply_to,
                text=item.text,
                payload=dict(item.payload),
                attempts=item.attempts,
                next_attempt_at=item.next_attempt_at,
                created_at=item.created_at,
                last_error=item.last_error,
            )
        )
        moved += 1
    if moved:
        session.info[OUTBOX_WRITTEN] = True
    return moved


# -- stories ----------------------------------------------------------------------------------


_COUNTER = Counter.__table__
_BUMP_COUNTER = (
    _COUNTER.update()
    .where(_COUNTER.c.name == bindparam("counter"))
    .values(value=_COUNTER.c.value + 1)
    .returning(_COUNTER.c.value)
)


def next_number(session: Session, name: str = "story") -> int:
    """Bump a named counter atomically (row lock on PostgreSQL, write lock on SQLite)."""
    bumped = _core(session, _BUMP_COUNTER, {"counter": name}).scalar_one_or_none()
    if bumped is not None:
        return int(bumped)
    try:
        with session.begin_nested():
            session.add(Counter(name=name, value=1))
        return 1
    except IntegrityError:
        return next_number(session, name)


_STORY_BY_NUMBER = select(Story).where(Story.number == bindparam("number")).with_for_update()


def story_by_number(session: Session, number: int) -> Story | None:
    """The story, its row locked until commit (PostgreSQL): commands on one story take turns,
    so a command always decides on what the previous one left (SQLite's write lock does the
    same for the whole database)."""
    return session.exec(_STORY_BY_NUMBER, params={"number": number}).first()


def story_by_message(session: Session, channel: str, chat_id: str, message_id: str) -> Story | None:
    """The story a chat message belongs to, its row locked like :func:`story_by_number`."""
    story_id = session.exec(
        select(StoryMessage.story_id).where(
            StoryMessage.channel == channel,
            StoryMessage.chat_id == chat_id,
            StoryMessage.message_id == message_id,
        )
    ).first()
    if story_id is None:
        return None
    return session.exec(select(Story).where(Story.id == story_id).with_for_update()).first()


_STORY_MESSAGE = StoryMessage.__table__


def link_message(
    session: Session, *, story_id: int, channel: str, chat_id: str, message_id: str
) -> None:
    _core(
        session,
        _insert_ignoring_conflict(session, _STORY_MESSAGE),
        {"story_id": story_id, "channel": channel, "chat_id": chat_id, "message_id": message_id},
    )


def open_stories(session: Session) -> Sequence[Story]:
    return session.exec(
        select(Story)
        .where(col(Story.state).in_([state.value for state in OPEN_STATES]))
        .order_by(col(Story.step_due_at).asc().nulls_last(), col(Story.number))
    ).all()


def facts(story: Story) -> StoryFacts:
    return StoryFacts(
        state=StoryState(story.state), reporter_id=story.reporter_id, holder_id=story.holder_id
    )


_VERSION_INSERT = StoryVersion.__table__.insert()


def create_story(
    session: Session,
    *,
    title: str,
    body: str,
    reporter_id: int,
    channel: str,
    chat_id: str,
    now: datetime,
    policy: SlaPolicy,
) -> Story:
    step = step_of(StoryState.SUBMITTED)
    assert step is not None
    due = policy.due(step, now)
    story = Story(
        number=next_number(session),
        title=title,
        state=StoryState.SUBMITTED.value,
        reporter_id=reporter_id,
        origin_channel=channel,
        origin_chat=chat_id,
        step=step.value,
        step_started_at=now,
        step_due_at=due,
        created_at=now,
        updated_at=now,
    )
    session.add(story)
    session.flush()
    assert story.id is not None
    start_clock(session, story, step, started_at=now, due_at=due, policy=policy)
    _core(
        session,
        _VERSION_INSERT,
        {
            "story_id": story.id,
            "number": 1,
            "title": title,
            "body": body,
            "author_id": reporter_id,
            "created_at": now,
            "note": None,
        },
    )
    audit(
        session,
        story_id=story.id,
        actor_id=reporter_id,
        event="submit",
        to_state=story.state,
        now=now,
    )
    search.index_story(session, story.id)
    return story


def add_version(
    session: Session,
    story: Story,
    *,
    title: str,
    body: str,
    author_id: int | None,
    now: datetime,
    note: str | None = None,
) -> StoryVersion:
    assert story.id is not None
    number = story.current_version + 1
    version = StoryVersion(
        story_id=story.id,
        number=number,
        title=title,
        body=body,
        author_id=author_id,
        created_at=now,
        note=note,
    )
    _core(session, _VERSION_INSERT, version.model_dump(exclude={"id"}))
    _guarded_update(session, story, current_version=number, title=title, updated_at=now)
    search.index_story(session, story.id)
    return version


def versions(session: Session, story_id: int) -> Sequence[StoryVersion]:
    return session.exec(
        select(StoryVersion)
        .where(StoryVersion.story_id == story_id)
        .order_by(col(StoryVersion.number))
    ).all()


_CURRENT_TEXT = select(StoryVersion).where(
    StoryVersion.story_id == bindparam("story_id"), StoryVersion.number == bindparam("number")
)


def current_text(session: Session, story: Story) -> StoryVersion:
    return session.exec(
        _CURRENT_TEXT, params={"story_id": story.id, "number": story.current_version}
    ).one()


def apply_decision(
    session: Session,
    story: Story,
    decision: Decision,
    *,
    actor_id: int | None,
    now: datetime,
    reason: str | None,
    policy: SlaPolicy,
    detail: dict[str, Any] | None = None,
) -> None:
    """Write a decided transition: the story row (guarded by its lock version), its audit, and
    the step clocks (the old step's clock ends, the new step's starts with its alarms)."""
    old_state = StoryState(story.state)
    old_step = step_of(old_state)
    old_holder = (
        step_holder(old_step, reporter_id=story.reporter_id, holder_id=story.holder_id)
        if old_step
        else None
    )
    values: dict[str, Any] = {
        "state": decision.new_state.value,
        "holder_id": decision.new_holder_id,
        "updated_at": now,
    }
    if reason:
        values["last_reason"] = reason
    new_step = step_of(decision.new_state)
    fresh_step = starts_new_step(old_state, decision.new_state)
    if fresh_step:
        assert new_step is not None
        values.update(
            step=new_step.value, step_started_at=now, step_due_at=policy.due(new_step, now)
        )
    elif new_step is None:
        values.update(step=None, step_due_at=None)
    _guarded_update(session, story, **values)
    if (fresh_step or new_step is None) and old_holder is not None and story.id is not None:
        assert old_step is not None
        done = completes_step(old_step, decision.transition.event)
        clocks.close_clocks(
            session,
            story_id=story.id,
            now=now,
            actor_id=actor_id,
            outcome=clocks.DONE if done else clocks.CANCELLED,
            held_by=old_holder.ref,
        )
    if fresh_step:
        assert new_step is not None and story.step_due_at is not None
        start_clock(
            session, story, new_step, started_at=now, due_at=story.step_due_at, policy=policy
        )
    audit(
        session,
        story_id=story.id,
        actor_id=actor_id,
        event=decision.transition.event.value,
        from_state=old_state.value,
        to_state=decision.new_state.value,
        reason=reason,
        now=now,
        detail=detail,
    )


def start_clock(
    session: Session,
    story: Story,
    step: Step,
    *,
    started_at: datetime,
    due_at: datetime,
    policy: SlaPolicy,
) -> int:
    """Open the clock of the step ``story`` has entered, with its reminder points and breach."""
    return clocks.open_clock(
        session,
        story_id=story.id,
        step=step,
        mode=policy.clock(step),
        started_at=started_at,
        due_at=due_at,
        alarms=policy.alarms(step, started_at, due_at),
    )


def _guarded_update(session: Session, story: Story, **values: Any) -> None:
    """Update ``story`` only if nobody changed it since it was read (optimistic lock)."""
    values["lock_version"] = story.lock_version + 1
    result = _core(
        session,
        _GUARDED_STORY_UPDATE,
        {**values, "story_id": story.id, "read_version": story.lock_version},
    )
    if result.rowcount != 1:  # type: ignore[attr-defined]
        raise StaleStory(f"story #{story.number} changed meanwhile")
    # Keep the loaded object in step with the row without reading it back.
    for name, value in values.items():
        set_committed_value(story, name, value)


def audit(
    session: Session,
    *,
    story_id: int | None,
    actor_id: int | None,
    event: str,
    now: datetime,
    from_state: str | None = None,
    to_state: str | None = None,
    reason: str | None = None,
    detail: dict[str, Any] | None = None,
) -> None:
    _core(
        session,
        _AUDIT_INSERT,
        {
            "story_id": story_id,
            "actor_id": actor_id,
            "at": now,
            "event": event,
            "from_state": from_state,
            "to_state": to_state,
            "reason": reason,
            "detail": detail or {},
        },
    )


def audit_trail(session: Session, story_id: int) -> Sequence[AuditEvent]:
    return session.exec(
        select(AuditEvent).where(AuditEvent.story_id == story_id).order_by(col(AuditEvent.id))
    ).all()


# -- media and checklist ----------------------------------------------------------------------


def attach_media(
    session: Session,
    *,
    story_id: int,
    sha256: str,
    kind: str,
    mime: str,
    size: int,
    stored_path: str,
    filename: str | None,
    caption: str | None,
    now: datetime,
) -> bool:
    """Attach a stored file to a story once; returns whether it was new to the story."""
    exists = session.exec(
        select(Media.id).where(Media.story_id == story_id, Media.sha256 == sha256)
    ).first()
    if exists is not None:
        return False
    position = session.exec(
        select(func.count()).select_from(Media).where(Media.story_id == story_id)
    ).one()
    session.add(
        Media(
            story_id=story_id,
            sha256=sha256,
            kind=kind,
            mime=mime,
            size=size,
            stored_path=stored_path,
            filename=filename,
            caption=caption,
            position=int(position),
            created_at=now,
        )
    )
    return True


_MEDIA_OF = (
    select(Media).where(Media.story_id == bindparam("story_id")).order_by(col(Media.position))
)
_CHECKLIST_MARKS = select(ChecklistMark).where(
    ChecklistMark.story_id == bindparam("story_id"), ChecklistMark.version == bindparam("version")
)


def media_of(session: Session, story_id: int) -> Sequence[Media]:
    return session.exec(_MEDIA_OF, params={"story_id": story_id}).all()


def checklist_marks(session: Session, story_id: int, version: int) -> dict[str, ChecklistMark]:
    rows = session.exec(_CHECKLIST_MARKS, params={"story_id": story_id, "version": version})
    return {row.item: row for row in rows}


_CHECKLIST_INSERT = ChecklistMark.__table__.insert()


def mark_checklist(
    session: Session,
    *,
    story_id: int,
    version: int,
    items: Iterable[str],
    person_id: int,
    now: datetime,
) -> list[str]:
    """Record who confirmed which items; returns the items that were newly confirmed."""
    already = checklist_marks(session, story_id, version)
    added = [item for item in dict.fromkeys(items) if item not in already]
    if added:
        _core(
            session,
            _CHECKLIST_INSERT,
            [
                {
                    "story_id": story_id,
                    "version": version,
                    "item": item,
                    "person_id": person_id,
                    "at": now,
                }
                for item in added
            ],
        )
    return added
