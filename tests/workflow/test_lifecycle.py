"""The story lifecycle, checked against the SOP written out by hand: every state × event × role."""

from __future__ import annotations

import ast
import subprocess
import sys
from dataclasses import dataclass, replace
from pathlib import Path

import pytest

import workflow
from workflow.lifecycle import (
    SYSTEM_ACTOR,
    TRANSITIONS,
    Actor,
    Decision,
    Refusal,
    Refused,
    Role,
    StoryEvent,
    StoryFacts,
    StoryState,
    Transition,
    TransitionTableError,
    decide,
    mermaid,
    validate,
)

S, E = StoryState, StoryEvent

# --- The SOP, written out by hand (deliberately not derived from TRANSITIONS) -----------------

DESK = frozenset({Role.EDITOR, Role.SECTION_HEAD})
REPORTER = frozenset({Role.REPORTER})
PUBLISHERS = frozenset({Role.OPERATOR, Role.SECTION_HEAD})
WARTA = frozenset({Role.SYSTEM})

# Who holds the story afterwards.
KEEP, ACTOR, STORY_REPORTER, NOBODY = "keep", "actor", "reporter", "nobody"


@dataclass(frozen=True)
class Allowed:
    """One thing the SOP allows: from a state, on an event, by some roles."""

    target: StoryState
    roles: frozenset[Role]
    holder: str


SOP: dict[tuple[StoryState | None, StoryEvent], Allowed] = {
    # Step 4: the reporter files coverage, and may amend it until an editor picks it up.
    (None, E.SUBMIT): Allowed(S.SUBMITTED, REPORTER, NOBODY),
    (S.SUBMITTED, E.AMEND): Allowed(S.SUBMITTED, REPORTER, KEEP),
    # Step 5: an editor (or the section head) claims, edits, releases, verifies.
    (S.SUBMITTED, E.CLAIM): Allowed(S.EDITING, DESK, ACTOR),
    (S.EDITING, E.ADD_VERSION): Allowed(S.EDITING, DESK, KEEP),
    (S.EDITING, E.RELEASE): Allowed(S.SUBMITTED, DESK, NOBODY),
    (S.EDITING, E.VERIFY): Allowed(S.VERIFIED, DESK, NOBODY),
    # /revise sends the story back to its reporter, with a reason.
    (S.SUBMITTED, E.REQUEST_REVISION): Allowed(S.REVISION_REQUESTED, DESK, STORY_REPORTER),
    (S.EDITING, E.REQUEST_REVISION): Allowed(S.REVISION_REQUESTED, DESK, STORY_REPORTER),
    (S.VERIFIED, E.REQUEST_REVISION): Allowed(S.REVISION_REQUESTED, DESK, STORY_REPORTER),
    (S.REVISION_REQUESTED, E.RESUBMIT): Allowed(S.SUBMITTED, REPORTER, NOBODY),
    # /spike kills an unpublished story, with a reason.
    (S.SUBMITTED, E.SPIKE): Allowed(S.SPIKED, DESK, NOBODY),
    (S.EDITING, E.SPIKE): Allowed(S.SPIKED, DESK, NOBODY),
    (S.VERIFIED, E.SPIKE): Allowed(S.SPIKED, DESK, NOBODY),
    (S.REVISION_REQUESTED, E.SPIKE): Allowed(S.SPIKED, DESK, NOBODY),
    # Step 6: the operator (or the section head) publishes; Warta confirms when every target has.
    (S.VERIFIED, E.PUBLISH): Allowed(S.PUBLISHING, PUBLISHERS, ACTOR),
    (S.PUBLISHING, E.PUBLISH_SUCCEEDED): Allowed(S.PUBLISHED, WARTA, NOBODY),
    # A correction after publishing starts with a fresh claim.
    (S.PUBLISHED, E.CLAIM): Allowed(S.EDITING, DESK, ACTOR),
    # Step 7: documented and archived, by the desk or by Warta itself.
    (S.PUBLISHED, E.ARCHIVE): Allowed(S.ARCHIVED, DESK | WARTA, KEEP),
}

# Rows the SOP gates further: only the holding editor, only the own reporter, only with a reason.
MUST_HOLD = {
    (S.EDITING, E.ADD_VERSION),
    (S.EDITING, E.RELEASE),
    (S.EDITING, E.VERIFY),
    (S.EDITING, E.REQUEST_REVISION),
}
MUST_OWN = {(S.SUBMITTED, E.AMEND), (S.REVISION_REQUESTED, E.RESUBMIT)}
NEEDS_REASON = {key for key in SOP if key[1] in (E.REQUEST_REVISION, E.SPIKE)}

# --- People ------------------------------------------------------------------------------------

HENDRA, DEDI, SARI, BUDI, RINA, ANTON = 1, 2, 3, 4, 5, 6
PERSON_OF_ROLE = {
    Role.SECTION_HEAD: HENDRA,
    Role.EDITOR: DEDI,
    Role.OPERATOR: BUDI,
    Role.REPORTER: RINA,
}
# Whoever held the story last, when that does not matter to the rule under test.
EARLIER_HOLDER = 60
REASON = "Sumber belum dikonfirmasi"


def person(person_id: int, *roles: Role, name: str = "someone") -> Actor:
    return Actor(person_id=person_id, name=name, roles=frozenset(roles))


def single_role_actor(role: Role) -> Actor:
    if role is Role.SYSTEM:
        return SYSTEM_ACTOR
    return person(PERSON_OF_ROLE[role], role, name=role.value)


def ordered(roles: frozenset[Role]) -> tuple[Role, ...]:
    """Roles in the order ``Role`` declares them (the order refusals list them in)."""
    return tuple(role for role in Role if role in roles)


def roles_anywhere(event: StoryEvent) -> frozenset[Role]:
    return frozenset(
        role for (_, ev), allowed in SOP.items() if ev is event for role in allowed.roles
    )


def test_the_sop_table_here_names_every_event_and_reaches_every_state():
    """Guards the hand-written table itself, so the matrix below covers the whole lifecycle."""
    assert {event for _, event in SOP} == set(StoryEvent)
    assert {allowed.target for allowed in SOP.values()} == set(StoryState)


# --- 1. Every state × event × role -------------------------------------------------------------

MATRIX = [
    pytest.param(state, event, role, id=f"{state or 'new'}-{event}-{role}")
    for state in (None, *StoryState)
    for event in StoryEvent
    for role in Role
]


def matrix_facts(state: StoryState | None, actor: Actor) -> StoryFacts | None:
    """A story in ``state`` on which only the role and the state can stand in the actor's way."""
    if state is None:
        return None
    reporter_id = actor.person_id if Role.REPORTER in actor.roles else ANTON
    holder_id = actor.person_id if state is S.EDITING else EARLIER_HOLDER
    return StoryFacts(state=state, reporter_id=reporter_id, holder_id=holder_id)


@pytest.mark.parametrize(("state", "event", "role"), MATRIX)
def test_decide_matches_the_sop(state: StoryState | None, event: StoryEvent, role: Role):
    actor = single_role_actor(role)
    story = matrix_facts(state, actor)

    outcome = decide(story, event, actor, reason=REASON)

    every_role = roles_anywhere(event)
    allowed = SOP.get((state, event))
    if role not in every_role:
        assert outcome == Refusal(Refused.ROLE, event, state, roles=ordered(every_role))
    elif allowed is None:
        assert isinstance(outcome, Refusal)
        assert (outcome.code, outcome.event, outcome.state) == (Refused.STATE, event, state)
        expected_events = {ev for (src, ev) in SOP if src is state} if state else set()
        assert sorted(outcome.allowed_events) == sorted(expected_events)
        assert outcome.roles == ()
    elif role not in allowed.roles:
        assert outcome == Refusal(Refused.ROLE, event, state, roles=ordered(allowed.roles))
    else:
        assert isinstance(outcome, Decision), outcome
        holder = {
            KEEP: story.holder_id if story else None,
            ACTOR: actor.person_id,
            STORY_REPORTER: story.reporter_id if story else None,
            NOBODY: None,
        }[allowed.holder]
        assert outcome.new_state is allowed.target
        assert outcome.new_holder_id == holder
        assert (outcome.transition.source, outcome.transition.event) == (state, event)
        assert outcome.changes_state is (allowed.target is not state)


# --- 2. Holding, owning, reasons, the checklist, and who holds afterwards ------------------------

dedi = person(DEDI, Role.EDITOR, name="Dedi")
sari = person(SARI, Role.EDITOR, name="Sari")
hendra = person(HENDRA, Role.SECTION_HEAD, name="Hendra")
hendra_both = person(HENDRA, Role.SECTION_HEAD, Role.EDITOR, name="Hendra")
budi = person(BUDI, Role.OPERATOR, name="Budi")
rina = person(RINA, Role.REPORTER, name="Rina")
anton = person(ANTON, Role.REPORTER, name="Anton")


def story(state: StoryState, *, reporter_id: int | None = RINA, holder_id: int | None = None):
    return StoryFacts(state=state, reporter_id=reporter_id, holder_id=holder_id)


HELD_EVENTS = sorted(event for _, event in MUST_HOLD)


@pytest.mark.parametrize("event", HELD_EVENTS)
def test_another_editor_is_refused_while_the_story_is_held(event: StoryEvent):
    outcome = decide(story(S.EDITING, holder_id=SARI), event, dedi, reason=REASON)

    assert outcome == Refusal(Refused.HELD_BY_OTHER, event, S.EDITING, holder_id=SARI)
    assert str(SARI) in outcome.message


@pytest.mark.parametrize("event", HELD_EVENTS)
@pytest.mark.parametrize(
    "actor", [sari, hendra, hendra_both], ids=["holder", "head", "head+editor"]
)
def test_the_holder_and_the_section_head_may_act_on_a_held_story(event: StoryEvent, actor: Actor):
    outcome = decide(story(S.EDITING, holder_id=SARI), event, actor, reason=REASON)

    assert isinstance(outcome, Decision), outcome
    assert outcome.new_state is SOP[(S.EDITING, event)].target


@pytest.mark.parametrize("event", HELD_EVENTS)
def test_a_story_nobody_holds_may_be_worked_by_any_editor(event: StoryEvent):
    outcome = decide(story(S.EDITING, holder_id=None), event, dedi, reason=REASON)

    assert isinstance(outcome, Decision), outcome


NOT_HELD_DESK_ROWS = sorted(
    (key for key, allowed in SOP.items() if Role.EDITOR in allowed.roles and key not in MUST_HOLD),
    key=str,
)


@pytest.mark.parametrize(("state", "event"), NOT_HELD_DESK_ROWS, ids=str)
def test_rows_without_the_holding_rule_ignore_who_holds(state: StoryState, event: StoryEvent):
    outcome = decide(story(state, holder_id=SARI), event, dedi, reason=REASON)

    assert isinstance(outcome, Decision), outcome


def test_the_role_is_checked_before_the_holder():
    outcome = decide(story(S.EDITING, holder_id=SARI), E.ADD_VERSION, budi)

    assert outcome.code is Refused.ROLE
    assert outcome.roles == (Role.SECTION_HEAD, Role.EDITOR)


def test_the_holder_is_checked_before_the_reason():
    outcome = decide(story(S.EDITING, holder_id=SARI), E.REQUEST_REVISION, dedi, reason=" ")

    assert outcome.code is Refused.HELD_BY_OTHER


@pytest.mark.parametrize(("state", "event"), sorted(MUST_OWN, key=str), ids=str)
@pytest.mark.parametrize("reporter_id", [RINA, None], ids=["rina's", "nobody's"])
def test_another_reporter_may_not_touch_the_story(
    state: StoryState, event: StoryEvent, reporter_id: int | None
):
    outcome = decide(story(state, reporter_id=reporter_id, holder_id=reporter_id), event, anton)

    assert outcome == Refusal(Refused.NOT_OWN_STORY, event, state)


@pytest.mark.parametrize(("state", "event"), sorted(MUST_OWN, key=str), ids=str)
def test_the_own_reporter_may_amend_and_resubmit(state: StoryState, event: StoryEvent):
    outcome = decide(story(state, holder_id=RINA), event, rina)

    assert isinstance(outcome, Decision), outcome
    assert outcome.new_state is S.SUBMITTED


BLANK_REASONS = [None, "", " ", "\t\n  "]


@pytest.mark.parametrize(("state", "event"), sorted(NEEDS_REASON, key=str), ids=str)
@pytest.mark.parametrize("reason", BLANK_REASONS, ids=repr)
def test_revision_and_spike_need_a_reason(state: StoryState, event: StoryEvent, reason: str | None):
    outcome = decide(
        story(state, holder_id=DEDI if state is S.EDITING else None), event, dedi, reason=reason
    )

    assert outcome == Refusal(Refused.REASON_REQUIRED, event, state)


@pytest.mark.parametrize(("state", "event"), sorted(NEEDS_REASON, key=str), ids=str)
def test_revision_and_spike_go_ahead_with_a_reason(state: StoryState, event: StoryEvent):
    outcome = decide(
        story(state, holder_id=DEDI if state is S.EDITING else None), event, dedi, reason="  x "
    )

    assert isinstance(outcome, Decision), outcome


def able_actor(roles: frozenset[Role]) -> Actor:
    """Someone allowed on a row who also holds and owns the story in ``story_for_row``."""
    role = ordered(roles)[0]
    return SYSTEM_ACTOR if role is Role.SYSTEM else person(RINA, role)


@pytest.mark.parametrize(("state", "event"), sorted(SOP, key=str), ids=str)
def test_only_revision_and_spike_refuse_a_missing_reason(
    state: StoryState | None, event: StoryEvent
):
    actor = able_actor(SOP[(state, event)].roles)
    facts = story(state, reporter_id=actor.person_id, holder_id=actor.person_id) if state else None

    outcome = decide(facts, event, actor, reason=None)

    if (state, event) in NEEDS_REASON:
        assert outcome == Refusal(Refused.REASON_REQUIRED, event, state)
    else:
        assert isinstance(outcome, Decision), outcome


CHECKLIST = ("sumber dikonfirmasi", "foto berizin", "ejaan nama pejabat")


@pytest.mark.parametrize(
    "missing",
    [CHECKLIST, CHECKLIST[2:], (CHECKLIST[2], CHECKLIST[0])],
    ids=["all", "one", "reordered"],
)
def test_verify_lists_the_unconfirmed_checklist_items_in_order(missing: tuple[str, ...]):
    outcome = decide(
        story(S.EDITING, holder_id=DEDI), E.VERIFY, dedi, missing_checklist=iter(missing)
    )

    assert outcome == Refusal(Refused.CHECKLIST_INCOMPLETE, E.VERIFY, S.EDITING, missing=missing)
    assert outcome.message.endswith(", ".join(missing))


def test_verify_with_the_whole_checklist_confirmed_goes_ahead():
    outcome = decide(story(S.EDITING, holder_id=DEDI), E.VERIFY, dedi, missing_checklist=[])

    assert isinstance(outcome, Decision)
    assert outcome.new_state is S.VERIFIED


def test_the_checklist_only_matters_to_verify():
    outcome = decide(
        story(S.EDITING, holder_id=DEDI), E.ADD_VERSION, dedi, missing_checklist=CHECKLIST
    )

    assert isinstance(outcome, Decision)
    assert outcome.new_state is S.EDITING


def test_the_holder_is_checked_before_the_checklist():
    outcome = decide(story(S.EDITING, holder_id=SARI), E.VERIFY, dedi, missing_checklist=CHECKLIST)

    assert outcome.code is Refused.HELD_BY_OTHER


HOLDER_AFTER = [
    # (story before, event, actor, holder after)
    pytest.param(None, E.SUBMIT, rina, None, id="submit-nobody"),
    pytest.param(story(S.SUBMITTED, holder_id=SARI), E.AMEND, rina, SARI, id="amend-kept"),
    pytest.param(story(S.SUBMITTED), E.CLAIM, dedi, DEDI, id="claim-actor"),
    pytest.param(story(S.SUBMITTED), E.CLAIM, hendra, HENDRA, id="claim-head"),
    pytest.param(story(S.PUBLISHED), E.CLAIM, sari, SARI, id="reclaim-published-actor"),
    pytest.param(story(S.EDITING, holder_id=DEDI), E.ADD_VERSION, dedi, DEDI, id="version-kept"),
    pytest.param(story(S.EDITING, holder_id=DEDI), E.RELEASE, dedi, None, id="release-nobody"),
    pytest.param(story(S.EDITING, holder_id=DEDI), E.VERIFY, dedi, None, id="verify-nobody"),
    pytest.param(story(S.SUBMITTED), E.REQUEST_REVISION, dedi, RINA, id="revise-submitted"),
    pytest.param(story(S.EDITING, holder_id=DEDI), E.REQUEST_REVISION, dedi, RINA, id="revise-ed"),
    pytest.param(story(S.VERIFIED), E.REQUEST_REVISION, hendra, RINA, id="revise-verified"),
    pytest.param(
        story(S.REVISION_REQUESTED, holder_id=RINA), E.RESUBMIT, rina, None, id="resubmit-nobody"
    ),
    pytest.param(story(S.SUBMITTED), E.SPIKE, dedi, None, id="spike-submitted"),
    pytest.param(story(S.EDITING, holder_id=DEDI), E.SPIKE, dedi, None, id="spike-editing"),
    pytest.param(story(S.VERIFIED), E.SPIKE, hendra, None, id="spike-verified"),
    pytest.param(
        story(S.REVISION_REQUESTED, holder_id=RINA), E.SPIKE, dedi, None, id="spike-revision"
    ),
    pytest.param(story(S.VERIFIED), E.PUBLISH, budi, BUDI, id="publish-operator"),
    pytest.param(story(S.VERIFIED), E.PUBLISH, hendra, HENDRA, id="publish-head"),
    pytest.param(
        story(S.PUBLISHING, holder_id=BUDI),
        E.PUBLISH_SUCCEEDED,
        SYSTEM_ACTOR,
        None,
        id="published-nobody",
    ),
    pytest.param(story(S.PUBLISHED), E.ARCHIVE, SYSTEM_ACTOR, None, id="archive-kept"),
    pytest.param(
        story(S.PUBLISHED, holder_id=DEDI), E.ARCHIVE, sari, DEDI, id="archive-kept-holder"
    ),
]


@pytest.mark.parametrize(("before", "event", "actor", "holder"), HOLDER_AFTER)
def test_who_holds_the_story_after_each_transition(
    before: StoryFacts | None, event: StoryEvent, actor: Actor, holder: int | None
):
    outcome = decide(before, event, actor, reason=REASON)

    assert isinstance(outcome, Decision), outcome
    assert outcome.new_holder_id == holder


# --- 3. The table is validated, and the error names what is wrong ------------------------------


def key_of(row: Transition) -> tuple[StoryState | None, StoryEvent]:
    return (row.source, row.event)


def without(*keys: tuple[StoryState | None, StoryEvent]) -> tuple[Transition, ...]:
    rows = tuple(row for row in TRANSITIONS if key_of(row) not in keys)
    assert len(rows) == len(TRANSITIONS) - len(keys), "every removed row must exist"
    return rows


def replaced(
    key: tuple[StoryState | None, StoryEvent], **changes: object
) -> tuple[Transition, ...]:
    rows = tuple(replace(row, **changes) if key_of(row) == key else row for row in TRANSITIONS)
    assert rows != TRANSITIONS, "the replaced row must exist"
    return rows


def the_row(key: tuple[StoryState | None, StoryEvent]) -> Transition:
    (row,) = (row for row in TRANSITIONS if key_of(row) == key)
    return row


BROKEN_TABLES = [
    pytest.param(
        without((S.PUBLISHED, E.ARCHIVE)),
        ["unreachable states: archived"],
        id="unreachable",
    ),
    pytest.param(
        without((S.PUBLISHING, E.PUBLISH_SUCCEEDED)),
        [
            "unreachable states: archived, published",
            "dead-end states (not final, no way out): publishing",
        ],
        id="unreachable-and-dead-end",
    ),
    pytest.param(
        without((S.REVISION_REQUESTED, E.RESUBMIT), (S.REVISION_REQUESTED, E.SPIKE)),
        ["dead-end states (not final, no way out): revision_requested"],
        id="dead-end",
    ),
    pytest.param(
        (
            *without((S.REVISION_REQUESTED, E.RESUBMIT), (S.REVISION_REQUESTED, E.SPIKE)),
            Transition(S.REVISION_REQUESTED, E.AMEND, S.REVISION_REQUESTED, REPORTER),
        ),
        ["dead-end states (not final, no way out): revision_requested"],
        id="dead-end-with-only-a-loop",
    ),
    pytest.param(
        (*TRANSITIONS, Transition(S.SPIKED, E.CLAIM, S.EDITING, DESK)),
        ["final states with outgoing rows: spiked"],
        id="final-with-exit",
    ),
    pytest.param(
        (*TRANSITIONS, Transition(S.ARCHIVED, E.AMEND, S.ARCHIVED, DESK)),
        ["final states with outgoing rows: archived"],
        id="final-with-loop",
    ),
    pytest.param(
        (*TRANSITIONS, Transition(S.SUBMITTED, E.CLAIM, S.VERIFIED, DESK)),
        ["two rows for submitted on claim"],
        id="duplicate",
    ),
    pytest.param(
        (*TRANSITIONS, the_row((S.EDITING, E.VERIFY))),
        ["two rows for editing on verify"],
        id="duplicate-identical",
    ),
    pytest.param(
        without((None, E.SUBMIT)),
        ["the initial state must be exactly submitted, the table enters none"],
        id="no-initial",
    ),
    pytest.param(
        (*TRANSITIONS, Transition(None, E.CLAIM, S.EDITING, DESK)),
        ["the initial state must be exactly submitted, the table enters editing, submitted"],
        id="two-initial",
    ),
    pytest.param(
        replaced((None, E.SUBMIT), target=S.EDITING),
        ["the initial state must be exactly submitted, the table enters editing"],
        id="wrong-initial",
    ),
    pytest.param(
        replaced((S.EDITING, E.VERIFY), roles=frozenset()),
        ["row editing --verify--> verified names no role"],
        id="no-roles",
    ),
]


@pytest.mark.parametrize(("rows", "problems"), BROKEN_TABLES)
def test_a_broken_table_is_refused_naming_the_states(
    rows: tuple[Transition, ...], problems: list[str]
):
    with pytest.raises(TransitionTableError) as raised:
        validate(rows)

    assert str(raised.value).split("; ") == problems


def test_every_problem_is_reported_at_once():
    rows = (
        *without((S.PUBLISHED, E.ARCHIVE), (None, E.SUBMIT)),
        Transition(S.SPIKED, E.CLAIM, S.EDITING, DESK),
    )

    with pytest.raises(TransitionTableError) as raised:
        validate(rows)

    assert str(raised.value).split("; ") == [
        "the initial state must be exactly submitted, the table enters none",
        "unreachable states: archived",
        "final states with outgoing rows: spiked",
    ]


def test_validate_takes_the_initial_and_final_states_it_is_given():
    with pytest.raises(TransitionTableError) as raised:
        validate(TRANSITIONS, initial=S.EDITING, final=frozenset())

    assert str(raised.value).split("; ") == [
        "the initial state must be exactly editing, the table enters submitted",
        "dead-end states (not final, no way out): archived, spiked",
    ]


def test_the_real_table_is_valid_and_a_table_error_is_a_value_error():
    assert validate(TRANSITIONS) is None
    assert validate(iter(TRANSITIONS)) is None
    assert issubclass(TransitionTableError, ValueError)


# --- 4. The Mermaid drawing -----------------------------------------------------------------------


def expected_mermaid_rows() -> set[str]:
    lines = set()
    for (source, event), allowed in SOP.items():
        roles = ", ".join(role.value for role in ordered(allowed.roles))
        start = "[*]" if source is None else source.value
        lines.add(f"    {start} --> {allowed.target.value}: {event.value} ({roles})")
    return lines


def test_mermaid_draws_one_line_per_row_and_the_final_states():
    lines = mermaid().splitlines()

    assert lines[0] == "stateDiagram-v2"
    row_lines = [line for line in lines[1:] if not line.endswith(" --> [*]")]
    assert len(row_lines) == len(TRANSITIONS) == len(SOP)
    assert set(row_lines) == expected_mermaid_rows()
    assert [line for line in lines if line.startswith("    [*] --> ")] == [
        "    [*] --> submitted: submit (reporter)"
    ]
    assert sorted(line for line in lines if line.endswith(" --> [*]")) == [
        "    archived --> [*]",
        "    spiked --> [*]",
    ]
    assert "    verified --> publishing: publish (section_head, operator)" in lines


def test_mermaid_draws_the_rows_it_is_given():
    lines = mermaid([Transition(S.EDITING, E.VERIFY, S.VERIFIED, DESK)]).splitlines()

    assert lines == [
        "stateDiagram-v2",
        "    editing --> verified: verify (section_head, editor)",
        "    archived --> [*]",
        "    spiked --> [*]",
    ]


# --- 5. Every refusal explains itself ----------------------------------------------------------

REFUSALS = {
    Refused.ROLE: (
        Refusal(Refused.ROLE, E.PUBLISH, S.VERIFIED, roles=(Role.SECTION_HEAD, Role.OPERATOR)),
        ["publish", "section_head, operator"],
    ),
    Refused.STATE: (
        Refusal(Refused.STATE, E.VERIFY, S.SUBMITTED, allowed_events=(E.AMEND, E.CLAIM)),
        ["verify", "submitted"],
    ),
    Refused.HELD_BY_OTHER: (
        Refusal(Refused.HELD_BY_OTHER, E.ADD_VERSION, S.EDITING, holder_id=SARI),
        ["add_version", str(SARI)],
    ),
    Refused.NOT_OWN_STORY: (
        Refusal(Refused.NOT_OWN_STORY, E.AMEND, S.SUBMITTED),
        ["amend", "reporter"],
    ),
    Refused.REASON_REQUIRED: (
        Refusal(Refused.REASON_REQUIRED, E.SPIKE, S.EDITING),
        ["spike", "reason"],
    ),
    Refused.CHECKLIST_INCOMPLETE: (
        Refusal(Refused.CHECKLIST_INCOMPLETE, E.VERIFY, S.EDITING, missing=CHECKLIST[:2]),
        ["checklist", "sumber dikonfirmasi, foto berizin"],
    ),
}


def test_every_refusal_code_has_a_sample_here():
    assert set(REFUSALS) == set(Refused)


@pytest.mark.parametrize("code", list(Refused))
def test_every_refusal_reads_as_an_english_sentence(code: Refused):
    refusal, must_mention = REFUSALS[code]

    message = refusal.message

    assert message.strip() == message != ""
    assert message != code.value
    assert len(message.split()) >= 4
    assert message.isascii()
    assert any(word in message.split() for word in ("is", "needs", "not", "for", "the"))
    for fragment in must_mention:
        assert fragment in message


def test_a_refusal_from_decide_explains_itself():
    outcome = decide(story(S.SUBMITTED), E.CLAIM, rina)

    assert outcome.message == "claim needs one of the roles: section_head, editor"


# --- 6. The core stays pure -------------------------------------------------------------------

FORBIDDEN = {
    "telegram",
    "twilio",
    "sqlmodel",
    "sqlalchemy",
    "apscheduler",
    "jinja2",
    "httpx",
    "starlette",
}
WORKFLOW_DIR = Path(workflow.__file__).parent
WORKFLOW_FILES = sorted(WORKFLOW_DIR.rglob("*.py"))


def imported_packages(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    packages: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            packages.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            packages.add(node.module.split(".")[0])
    return packages


def test_the_purity_check_sees_the_core_modules():
    names = {path.relative_to(WORKFLOW_DIR).as_posix() for path in WORKFLOW_FILES}
    assert {"__init__.py", "lifecycle.py", "sla.py"} <= names
    assert imported_packages(WORKFLOW_DIR / "sla.py") >= {"workflow", "zoneinfo", "datetime"}


@pytest.mark.parametrize(
    "path", WORKFLOW_FILES, ids=[p.relative_to(WORKFLOW_DIR).as_posix() for p in WORKFLOW_FILES]
)
def test_workflow_modules_import_no_framework(path: Path):
    assert imported_packages(path) & FORBIDDEN == set()


def test_importing_workflow_pulls_in_no_framework_indirectly():
    script = (
        "import importlib, pkgutil, sys, workflow\n"
        "for info in pkgutil.walk_packages(workflow.__path__, 'workflow.'):\n"
        "    importlib.import_module(info.name)\n"
        "print(' '.join(sorted({name.split('.')[0] for name in sys.modules})))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=WORKFLOW_DIR.parent,
        capture_output=True,
        text=True,
        check=True,
    )

    loaded = set(done.stdout.split())
    assert "workflow" in loaded
    assert loaded & FORBIDDEN == set()
