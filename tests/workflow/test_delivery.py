"""The outbox items' lifecycles: every state and event of a message and of a publish job."""

from __future__ import annotations

import pytest

from workflow.delivery import (
    MESSAGE,
    PUBLISH_JOB,
    ItemEvent,
    ItemState,
    ItemTransition,
    Lifecycle,
    LifecycleError,
    lifecycle_of,
)

S, E = ItemState, ItemEvent

MESSAGE_ALLOWED = {
    (S.PENDING, E.CLAIM): S.IN_PROGRESS,
    (S.RETRYING, E.CLAIM): S.IN_PROGRESS,
    (S.IN_PROGRESS, E.CLAIM): S.IN_PROGRESS,  # the claim of a dead worker ran out
    (S.IN_PROGRESS, E.DELIVERED): S.SENT,
    (S.IN_PROGRESS, E.RETRY_LATER): S.RETRYING,
    (S.IN_PROGRESS, E.POSTPONE): S.PENDING,
    (S.IN_PROGRESS, E.GIVE_UP): S.DEAD,
    (S.DEAD, E.RETRY_NOW): S.PENDING,
    (S.PENDING, E.SUPERSEDE): S.SUPERSEDED,  # a reminder gives way to the breach notice
    (S.RETRYING, E.SUPERSEDE): S.SUPERSEDED,
    (S.DEAD, E.SUPERSEDE): S.SUPERSEDED,
}

LIVE = (S.PENDING, S.RETRYING, S.IN_PROGRESS, S.FAILED, S.WAITING)
PUBLISH_ALLOWED = {
    (S.PENDING, E.CLAIM): S.IN_PROGRESS,
    (S.RETRYING, E.CLAIM): S.IN_PROGRESS,
    (S.IN_PROGRESS, E.CLAIM): S.IN_PROGRESS,
    (S.IN_PROGRESS, E.DELIVERED): S.SUCCEEDED,
    (S.IN_PROGRESS, E.RETRY_LATER): S.RETRYING,
    (S.IN_PROGRESS, E.POSTPONE): S.PENDING,
    (S.IN_PROGRESS, E.GIVE_UP): S.FAILED,
    (S.IN_PROGRESS, E.HAND_OVER): S.WAITING,  # a manual target waits for /terbit
    (S.FAILED, E.RETRY_NOW): S.PENDING,  # /ulang
    (S.RETRYING, E.RETRY_NOW): S.PENDING,
    **{(state, E.ABANDON): S.ABANDONED for state in LIVE},  # /abaikan, never after success
    **{(state, E.REPORT): S.SUCCEEDED for state in (*LIVE, S.ABANDONED)},  # /terbit
}


@pytest.mark.parametrize(
    ("machine", "allowed"), [(MESSAGE, MESSAGE_ALLOWED), (PUBLISH_JOB, PUBLISH_ALLOWED)]
)
def test_every_state_and_event(machine: Lifecycle, allowed: dict):
    for state in ItemState:
        for event in ItemEvent:
            assert machine.next(state, event) == allowed.get((state, event)), (state, event)


def test_a_succeeded_job_cannot_be_abandoned_or_retried():
    assert PUBLISH_JOB.next("succeeded", E.ABANDON) is None
    assert PUBLISH_JOB.next("succeeded", E.RETRY_NOW) is None
    assert MESSAGE.next("sent", E.RETRY_NOW) is None


def test_kinds_pick_their_lifecycle():
    assert lifecycle_of("publish") is PUBLISH_JOB
    assert {lifecycle_of(kind) for kind in ("message", "card", "callback")} == {MESSAGE}


def test_a_broken_table_is_refused_naming_the_states():
    with pytest.raises(LifecycleError, match="unreachable states: waiting"):
        Lifecycle(
            "broken",
            (
                ItemTransition(S.PENDING, E.CLAIM, S.IN_PROGRESS),
                ItemTransition(S.IN_PROGRESS, E.DELIVERED, S.SENT),
                ItemTransition(S.WAITING, E.REPORT, S.SENT),
            ),
            initial=S.PENDING,
            final=frozenset({S.SENT}),
        )
    with pytest.raises(LifecycleError, match="can never finish: retrying"):
        Lifecycle(
            "stuck",
            (
                ItemTransition(S.PENDING, E.CLAIM, S.IN_PROGRESS),
                ItemTransition(S.IN_PROGRESS, E.DELIVERED, S.SENT),
                ItemTransition(S.IN_PROGRESS, E.RETRY_LATER, S.RETRYING),
            ),
            initial=S.PENDING,
            final=frozenset({S.SENT}),
        )
    with pytest.raises(LifecycleError, match="two rows for pending on claim"):
        Lifecycle(
            "doubled",
            (
                ItemTransition(S.PENDING, E.CLAIM, S.IN_PROGRESS),
                ItemTransition(S.PENDING, E.CLAIM, S.SENT),
                ItemTransition(S.IN_PROGRESS, E.DELIVERED, S.SENT),
            ),
            initial=S.PENDING,
            final=frozenset({S.SENT}),
        )


def test_the_diagram_comes_from_the_table():
    drawn = PUBLISH_JOB.mermaid()
    assert drawn.startswith("stateDiagram-v2\n    [*] --> pending")
    assert "in_progress --> waiting: hand_over" in drawn
    assert len(drawn.splitlines()) == 2 + len(PUBLISH_JOB.rows) + len(PUBLISH_JOB.final)
