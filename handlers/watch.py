"""The watch: sends what the step clocks ask for (reminders, breaches and escalations) and the
section head's daily digest, each exactly once, in the transaction that records it as sent."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any

from sqlmodel import Session, func, select

from handlers.announce import agenda_sweep, next_agenda_moment
from handlers.archive import LinkCheck
from handlers.archive import sweep as archive_sweep
from handlers.copies import sweep as copies_sweep
from handlers.desk import Desk
from handlers.oversight import digest_values
from handlers.roster import duty_sweep
from storage import clocks, repo
from storage.models import DailyRun, Story
from workflow.lifecycle import Role
from workflow.sla import BREACH, Step, step_holder

log = logging.getLogger(__name__)

BATCH = 200
DIGEST_JOB = "digest"
SOON = timedelta(hours=1)


@dataclass
class SweepReport:
    """What one sweep did, for logs and tests."""

    sent: int = 0
    late: int = 0
    folded: int = 0
    superseded: int = 0
    digests: int = 0
    archived: int = 0
    outbox_ids: list[int] = field(default_factory=list)

    @property
    def alarms(self) -> int:
        return self.sent + self.late + self.folded + self.superseded


@dataclass(frozen=True)
class Delivery:
    """One message an alarm causes: where it goes, in which language, from which template."""

    channel: str
    recipient: str
    template: str
    locale: str | None
    person: repo.PersonRecord | None = None


@dataclass
class _Folded:
    """Late alarms gathered into one catch-up message for one chat."""

    locale: str | None
    person: repo.PersonRecord | None
    items: list[dict[str, Any]] = field(default_factory=list)


class Watch:
    """Reads the clocks and alarms from the database; the scheduler only says when to look."""

    def __init__(self, desk: Desk, *, link_check: LinkCheck | None = None) -> None:
        self.desk = desk
        self.link_check = link_check
        """How the H+1 archive checks a permalink (the composition root's web checker)."""

    @property
    def options(self) -> Any:
        return self.desk.options

    # -- when to wake -------------------------------------------------------------------------

    def next_wake(self) -> datetime | None:
        """The next moment anything is due: the earliest pending alarm or the next digest."""
        now = self.desk.clock()
        with self.desk.db.transaction() as session:
            candidates = [
                clocks.next_alarm_at(session),
                self._next_digest(session, now),
                next_agenda_moment(session, self.desk, now),
            ]
        due = [moment for moment in candidates if moment is not None]
        return min(due) if due else None

    def _digest_moment(self, day: date) -> datetime | None:
        if self.options.digest_at is None:
            return None
        return datetime.combine(day, self.options.digest_at, self.options.tz).astimezone(UTC)

    def _next_digest(self, session: Session, now: datetime) -> datetime | None:
        today = now.astimezone(self.options.tz).date()
        moment = self._digest_moment(today)
        if moment is None:
            return None
        done = session.exec(
            select(func.count())
            .select_from(DailyRun)
            .where(DailyRun.job == DIGEST_JOB, DailyRun.day == today.isoformat())
        ).one()
        return self._digest_moment(today + timedelta(days=1)) if done else moment

    # -- start-up repair ----------------------------------------------------------------------

    def repair(self) -> int:
        """Give a clock to every story in a step that has none (stories written before clocks
        existed, or by an older Warta), from the deadline stored on the story."""
        policy = self.options.sla
        now = self.desk.clock()
        with self.desk.db.transaction() as session:
            open_states = [state.value for state in repo.OPEN_STATES]
            missing = clocks.stories_missing_a_clock(session, open_states)
            for story in missing:
                step = Step(story.step or "")
                assert story.step_started_at is not None
                due = story.step_due_at or policy.due(step, story.step_started_at)
                clock_id = repo.start_clock(
                    session,
                    story,
                    step,
                    started_at=story.step_started_at,
                    due_at=due,
                    policy=policy,
                )
                # What fell due before this Warta kept clocks is not announced now, late.
                clocks.supersede_earlier(session, clock_id, now, now=now, inclusive=True)
            return len(missing)

    # -- the sweep ----------------------------------------------------------------------------

    def sweep(self) -> SweepReport:
        """Send every alarm that has come due, then the digest if its time has come.

        Each alarm is settled (pending → sent) and its messages written to the outbox in one
        transaction; an alarm another instance settled first is skipped, so nothing is sent
        twice. When several alarms of one clock are due at once (after a downtime) only the
        latest is sent: the others are superseded by it, never silently dropped.
        """
        now = self.desk.clock()
        report = SweepReport()
        while True:
            with self.desk.db.transaction() as session:
                due = clocks.due_alarms(session, now=now, limit=BATCH)
                self._settle(session, due, now, report)
            if len(due) < BATCH:
                break
        with self.desk.db.transaction() as session:
            self._digest_if_due(session, now, report)
        report.archived += archive_sweep(self.desk, now, link_check=self.link_check)
        with self.desk.db.transaction() as session:
            report.outbox_ids += agenda_sweep(session, self.desk, now)
            report.outbox_ids += duty_sweep(session, self.desk, now)
            report.outbox_ids += copies_sweep(
                session,
                options=self.desk.options.copies,
                people=self.desk.people,
                reach=self.desk.reach,
                now=now,
            )
        return report

    def _settle(
        self, session: Session, due: list[clocks.DueAlarm], now: datetime, report: SweepReport
    ) -> None:
        latest: dict[int, clocks.DueAlarm] = {}
        for entry in due:
            latest[entry.clock.id or 0] = entry  # ordered by due time: the last one wins
        folded: dict[tuple[str, str], _Folded] = {}
        for entry in due:
            alarm_id = entry.alarm.id or 0
            if latest[entry.clock.id or 0] is not entry:
                if clocks.settle_alarm(session, alarm_id, status="superseded", now=now):
                    report.superseded += 1
                continue
            try:
                # One alarm that cannot be sent (a template error, a person gone) must not
                # hold up the others: it is settled as failed, in the log, and the rest go on.
                with session.begin_nested():
                    self._settle_one(session, entry, now, report, folded)
            except Exception:
                log.exception("alarm %s of clock %s could not be sent", alarm_id, entry.clock.id)
                clocks.settle_alarm(session, alarm_id, status="failed", now=now)
        for (channel, recipient), bucket in folded.items():
            delivery = Delivery(channel, recipient, "sla_catch_up", bucket.locale, bucket.person)
            report.outbox_ids.append(self._send(session, delivery, now, items=bucket.items))

    def _settle_one(
        self,
        session: Session,
        entry: clocks.DueAlarm,
        now: datetime,
        report: SweepReport,
        folded: dict[tuple[str, str], _Folded],
    ) -> None:
        alarm_id = entry.alarm.id or 0
        clocks.supersede_earlier(session, entry.clock.id or 0, entry.alarm.due_at, now=now)
        late = now - entry.alarm.due_at > self.options.late_after
        fold = late and self.options.missed == "fold"
        status = "folded" if fold else "late" if late else "sent"
        if not clocks.settle_alarm(session, alarm_id, status=status, now=now):
            return
        deliveries = self._deliveries(session, entry)
        if entry.alarm.point == BREACH:
            holder = self._holder(entry)
            clocks.mark_breached(session, entry.clock, held_by=holder.ref)
        if fold:
            for delivery in deliveries:
                bucket = folded.setdefault(
                    (delivery.channel, delivery.recipient),
                    _Folded(delivery.locale, delivery.person),
                )
                bucket.items.append(self._values(entry, delivery, late=True))
            report.folded += 1
        else:
            first = None
            about = f"sla:{entry.clock.id}:"
            if entry.alarm.point == BREACH:
                # Reminders of this deadline not yet delivered (a channel was down) no longer
                # matter: the breach notice says more.
                story_id = entry.story.id if entry.story else None
                clocks_done = repo.supersede_messages(
                    session, story_id=story_id, about_prefix=about, now=now
                )
                if clocks_done:
                    log.info("%d undelivered reminder(s) gave way to a breach", clocks_done)
            for delivery in deliveries:
                values = self._values(entry, delivery, late=late)
                outbox_id = self._send(
                    session, delivery, now, about=about + str(entry.alarm.point), **values
                )
                first = first or outbox_id
                report.outbox_ids.append(outbox_id)
            clocks.note_outbox(session, alarm_id, first)
            if late:
                report.late += 1
            else:
                report.sent += 1
        if entry.story is not None:
            self.desk.cards.enqueue(session, entry.story, now)

    def _holder(self, entry: clocks.DueAlarm) -> Any:
        story = entry.story
        reporter_id = story.reporter_id if story else None
        if entry.assignment is not None:
            reporter_id = entry.assignment.reporter_id
        return step_holder(
            Step(entry.clock.step),
            reporter_id=reporter_id,
            holder_id=story.holder_id if story else None,
        )

    def _holders(self, entry: clocks.DueAlarm) -> list[repo.PersonRecord]:
        holder = self._holder(entry)
        if holder.person_id is not None:
            person = self.desk.people.get(holder.person_id)
            return [person] if person else []
        return list(self.desk.people.with_role(holder.role))

    def _deliveries(self, session: Session, entry: clocks.DueAlarm) -> list[Delivery]:
        """Who hears of an alarm: the holders (in the group, privately, or both as configured)
        and, at a breach, the section head. Someone who cannot be reached privately is named
        in the group instead, so no alarm goes nowhere."""
        kind = "sla_breach" if entry.alarm.point == BREACH else "sla_reminder"
        holders = self._holders(entry)
        where = self.options.remind_in
        out: list[Delivery] = []
        unreachable = False
        if "private" in where:
            for person in holders:
                delivery = self._private(person, kind)
                unreachable |= delivery is None
                out.extend([delivery] if delivery else [])
        needs_group = "group" in where or unreachable or not holders
        if entry.alarm.point == BREACH:
            heads = self.desk.people.with_role(Role.SECTION_HEAD)
            for head in heads:
                delivery = self._private(head, "sla_escalation")
                needs_group |= delivery is None
                out.extend([delivery] if delivery else [])
            if not heads:
                log.warning("no section head is configured: the breach is not escalated")
        if needs_group:
            out.extend(
                Delivery(channel, chat, f"{kind}_group", None)
                for channel, chat in self.desk.reach.group_chats(session, about=entry.story)
            )
        unique: dict[tuple[str, str], Delivery] = {}
        for delivery in out:
            unique.setdefault((delivery.channel, delivery.recipient), delivery)
        return list(unique.values())

    def _values(self, entry: clocks.DueAlarm, delivery: Delivery, *, late: bool) -> dict[str, Any]:
        holder = self._holder(entry)
        return {
            "story": entry.story,
            "item": entry.item,
            "step": entry.clock.step,
            "point": entry.alarm.point,
            "due": entry.clock.due_at,
            "planned": entry.alarm.due_at,
            "late": late,
            "breach": entry.alarm.point == BREACH,
            "escalated": any(
                self._private(head, "sla_escalation")
                for head in self.desk.people.with_role(Role.SECTION_HEAD)
            ),
            "unreached": self._unreached(entry),
            "holders": self._holders(entry),
            "holder_role": holder.role.value if holder.role else None,
            "reporter": self.desk.people.get(entry.story.reporter_id) if entry.story else None,
        }

    def _unreached(self, entry: clocks.DueAlarm) -> list[repo.PersonRecord]:
        """Who should hear of this alarm privately but has no running channel: named in the
        group, so that someone passes it on."""
        wanted: list[repo.PersonRecord] = []
        if "private" in self.options.remind_in:
            wanted += self._holders(entry)
        if entry.alarm.point == BREACH:
            wanted += self.desk.people.with_role(Role.SECTION_HEAD)
        unique = {person.id: person for person in wanted}
        return [person for person in unique.values() if self._private(person, "") is None]

    def _private(self, person: repo.PersonRecord, template: str) -> Delivery | None:
        channel = self.desk.reach.private_channel(person)
        if channel is None:
            return None
        return Delivery(channel, person.addresses[channel], template, person.locale, person)

    def _send(
        self,
        session: Session,
        delivery: Delivery,
        now: datetime,
        *,
        about: str | None = None,
        **values: Any,
    ) -> int:
        renderer = self.desk.renderer
        text = renderer.render(
            delivery.template,
            locale=renderer.locale_for(delivery.locale),
            now=now,
            person=delivery.person,
            **values,
        )
        story = values.get("story")
        return repo.enqueue_message(
            session,
            channel=delivery.channel,
            recipient=delivery.recipient,
            text=text,
            now=now,
            story_id=story.id if isinstance(story, Story) else None,
            about=about,
            template=delivery.template,
        )

    # -- the daily digest ---------------------------------------------------------------------

    def _digest_if_due(self, session: Session, now: datetime, report: SweepReport) -> None:
        """Send each day's digest once, at its time or as soon as Warta is back: yesterday's
        too, if Warta was down over its time and past midnight."""
        today = now.astimezone(self.options.tz).date()
        first_ever = not session.exec(
            select(func.count()).select_from(DailyRun).where(DailyRun.job == DIGEST_JOB)
        ).one()
        for sending_day in (today - timedelta(days=1), today):
            moment = self._digest_moment(sending_day)
            if moment is None or now < moment:
                continue
            missed_before_install = sending_day != today or now - moment > self.options.late_after
            if first_ever and missed_before_install:
                # A new installation started after the digest time: nothing was missed.
                clocks.claim_daily_run(
                    session,
                    job=DIGEST_JOB,
                    day=sending_day.isoformat(),
                    now=now,
                    holder="first start",
                )
                continue
            if clocks.claim_daily_run(
                session, job=DIGEST_JOB, day=sending_day.isoformat(), now=now
            ):
                self._send_digest(session, sending_day - timedelta(days=1), now, report)

    def _send_digest(self, session: Session, day: date, now: datetime, report: SweepReport) -> None:
        report.digests += 1
        values = digest_values(session, self.desk, day, now)
        reached = False
        for head in self.desk.people.with_role(Role.SECTION_HEAD):
            delivery = self._private(head, "daily_digest")
            if delivery is not None:
                reached = True
                report.outbox_ids.append(self._send(session, delivery, now, **values))
        if not reached:
            for channel, chat in self.desk.reach.group_chats(session):
                delivery = Delivery(channel, chat, "daily_digest", None)
                report.outbox_ids.append(self._send(session, delivery, now, **values))
