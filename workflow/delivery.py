"""The outbox items' lifecycles: a chat message's and a publish job's states, declared once."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from enum import StrEnum


class ItemState(StrEnum):
    PENDING = "pending"
    IN_PROGRESS = "in_progress"
    RETRYING = "retrying"
    # a chat message, a card or a button answer
    SENT = "sent"
    DEAD = "dead"
    SUPERSEDED = "superseded"
    """A message that no longer matters (a reminder whose deadline passed gives way to the
    breach notice) and was never sent."""
    # a publish job
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    WAITING = "waiting"
    ABANDONED = "abandoned"


class ItemEvent(StrEnum):
    CLAIM = "claim"
    """A dispatcher takes the item (also one whose claim ran out with its dead owner)."""
    DELIVERED = "delivered"
    RETRY_LATER = "retry_later"
    """An attempt failed in a way that may pass: try again at a later moment."""
    GIVE_UP = "give_up"
    """An attempt failed for good, or the last attempt failed."""
    POSTPONE = "postpone"
    """Put back untried: an earlier item of its chat failed, or the channel asked to wait."""
    HAND_OVER = "hand_over"
    """A manual target: the package went to the operators, who report the live address."""
    REPORT = "report"
    """An operator reports the live address (/terbit)."""
    ABANDON = "abandon"
    """An operator gives up on a target for this story (/abaikan)."""
    RETRY_NOW = "retry_now"
    """An operator asks for another try now (/ulang), or re-sends a dead message."""
    SUPERSEDE = "supersede"
    """A newer message makes this unsent one pointless."""


@dataclass(frozen=True)
class ItemTransition:
    source: ItemState
    event: ItemEvent
    target: ItemState


class Lifecycle:
    """One declared, validated state machine over :class:`ItemState`."""

    def __init__(
        self,
        name: str,
        rows: Iterable[ItemTransition],
        *,
        initial: ItemState,
        final: frozenset[ItemState],
    ) -> None:
        self.name, self.initial, self.final = name, initial, final
        self.rows = tuple(rows)
        self._by_key: Mapping[tuple[ItemState, ItemEvent], ItemTransition] = {
            (row.source, row.event): row for row in self.rows
        }
        validate(self)

    @property
    def states(self) -> frozenset[ItemState]:
        ends = {row.source for row in self.rows} | {row.target for row in self.rows}
        return frozenset({self.initial} | ends)

    def next(self, state: ItemState | str, event: ItemEvent) -> ItemState | None:
        """The state ``event`` leads to from ``state``; None when the table does not allow it."""
        row = self._by_key.get((ItemState(state), event))
        return row.target if row else None

    def sources(self, event: ItemEvent) -> tuple[ItemState, ...]:
        return tuple(row.source for row in self.rows if row.event is event)

    def mermaid(self) -> str:
        lines = ["stateDiagram-v2", f"    [*] --> {self.initial.value}"]
        for row in self.rows:
            lines.append(f"    {row.source.value} --> {row.target.value}: {row.event.value}")
        for state in sorted(self.final):
            lines.append(f"    {state.value} --> [*]")
        return "\n".join(lines)


class LifecycleError(ValueError):
    """A lifecycle's table breaks a rule."""


def validate(machine: Lifecycle) -> None:
    """Check a table: no duplicate rows, every state reachable from the initial one, and every
    state able to reach a final one (a resting state: nothing more happens by itself)."""
    problems: list[str] = []
    seen: set[tuple[ItemState, ItemEvent]] = set()
    for row in machine.rows:
        key = (row.source, row.event)
        if key in seen:
            problems.append(f"two rows for {row.source} on {row.event}")
        seen.add(key)
    reachable = _closure({machine.initial}, machine.rows)
    unreachable = sorted(machine.states - reachable)
    if unreachable:
        problems.append(f"unreachable states: {', '.join(unreachable)}")
    stuck = sorted(
        state
        for state in machine.states
        if state not in machine.final and not (_closure({state}, machine.rows) & machine.final)
    )
    if stuck:
        problems.append(f"states that can never finish: {', '.join(stuck)}")
    if not machine.final:
        problems.append("no final state")
    if problems:
        raise LifecycleError(f"{machine.name}: " + "; ".join(problems))


def _closure(start: set[ItemState], rows: tuple[ItemTransition, ...]) -> set[ItemState]:
    found, frontier = set(start), list(start)
    while frontier:
        state = frontier.pop()
        for row in rows:
            if row.source is state and row.target not in found:
                found.add(row.target)
                frontier.append(row.target)
    return found


S, E = ItemState, ItemEvent
_ATTEMPTS = (
    ItemTransition(S.PENDING, E.CLAIM, S.IN_PROGRESS),
    ItemTransition(S.RETRYING, E.CLAIM, S.IN_PROGRESS),
    ItemTransition(S.IN_PROGRESS, E.CLAIM, S.IN_PROGRESS),
    ItemTransition(S.IN_PROGRESS, E.RETRY_LATER, S.RETRYING),
    ItemTransition(S.IN_PROGRESS, E.POSTPONE, S.PENDING),
)

MESSAGE = Lifecycle(
    "message",
    (
        *_ATTEMPTS,
        ItemTransition(S.IN_PROGRESS, E.DELIVERED, S.SENT),
        ItemTransition(S.IN_PROGRESS, E.GIVE_UP, S.DEAD),
        ItemTransition(S.DEAD, E.RETRY_NOW, S.PENDING),
        ItemTransition(S.PENDING, E.SUPERSEDE, S.SUPERSEDED),
        ItemTransition(S.RETRYING, E.SUPERSEDE, S.SUPERSEDED),
        ItemTransition(S.DEAD, E.SUPERSEDE, S.SUPERSEDED),
    ),
    initial=S.PENDING,
    final=frozenset({S.SENT, S.DEAD, S.SUPERSEDED}),
)
"""A chat message, a story card or a button answer."""

PUBLISH_JOB = Lifecycle(
    "publish job",
    (
        *_ATTEMPTS,
        ItemTransition(S.IN_PROGRESS, E.DELIVERED, S.SUCCEEDED),
        ItemTransition(S.IN_PROGRESS, E.GIVE_UP, S.FAILED),
        ItemTransition(S.IN_PROGRESS, E.HAND_OVER, S.WAITING),
        ItemTransition(S.FAILED, E.RETRY_NOW, S.PENDING),
        ItemTransition(S.RETRYING, E.RETRY_NOW, S.PENDING),
        *(
            ItemTransition(source, E.ABANDON, S.ABANDONED)
            for source in (S.PENDING, S.RETRYING, S.IN_PROGRESS, S.FAILED, S.WAITING)
        ),
        *(
            ItemTransition(source, E.REPORT, S.SUCCEEDED)
            for source in (S.PENDING, S.RETRYING, S.IN_PROGRESS, S.FAILED, S.WAITING, S.ABANDONED)
        ),
    ),
    initial=S.PENDING,
    final=frozenset({S.SUCCEEDED, S.ABANDONED, S.FAILED}),
)
"""One story's publishing to one target in one round (/terbitkan)."""

UNFINISHED = (S.PENDING, S.RETRYING, S.IN_PROGRESS)
"""States a dispatcher still has work in."""
DONE_PUBLISHING = (S.SUCCEEDED, S.ABANDONED)
"""A round whose every job is in one of these is complete: the story is published."""


def lifecycle_of(kind: str) -> Lifecycle:
    return PUBLISH_JOB if kind == "publish" else MESSAGE
