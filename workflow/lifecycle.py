"""The story lifecycle: states, events, the one transition table and the decision function."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum


class Role(StrEnum):
    """What a person may do on the desk; ``system`` is Warta itself."""

    SECTION_HEAD = "section_head"
    EDITOR = "editor"
    OPERATOR = "operator"
    REPORTER = "reporter"
    SYSTEM = "system"


PEOPLE_ROLES: tuple[Role, ...] = (Role.SECTION_HEAD, Role.EDITOR, Role.OPERATOR, Role.REPORTER)


class StoryState(StrEnum):
    SUBMITTED = "submitted"
    EDITING = "editing"
    VERIFIED = "verified"
    PUBLISHING = "publishing"
    PUBLISHED = "published"
    REVISION_REQUESTED = "revision_requested"
    SPIKED = "spiked"
    ARCHIVED = "archived"


class StoryEvent(StrEnum):
    SUBMIT = "submit"
    AMEND = "amend"
    CLAIM = "claim"
    RELEASE = "release"
    ADD_VERSION = "add_version"
    VERIFY = "verify"
    REQUEST_REVISION = "request_revision"
    RESUBMIT = "resubmit"
    SPIKE = "spike"
    PUBLISH = "publish"
    PUBLISH_SUCCEEDED = "publish_succeeded"
    ARCHIVE = "archive"


class Holder(StrEnum):
    """Who holds the story after a transition."""

    KEEP = "keep"
    ACTOR = "actor"
    REPORTER = "reporter"
    NOBODY = "nobody"


class Refused(StrEnum):
    """Why a decision said no; each has a template that explains it to the person."""

    ROLE = "role"
    STATE = "state"
    HELD_BY_OTHER = "held_by_other"
    NOT_OWN_STORY = "not_own_story"
    REASON_REQUIRED = "reason_required"
    CHECKLIST_INCOMPLETE = "checklist_incomplete"


INITIAL_STATE = StoryState.SUBMITTED
FINAL_STATES = frozenset({StoryState.SPIKED, StoryState.ARCHIVED})

_DESK = frozenset({Role.EDITOR, Role.SECTION_HEAD})


@dataclass(frozen=True)
class Transition:
    """One row of the table: from ``source`` (None: the story does not exist yet) on ``event``."""

    source: StoryState | None
    event: StoryEvent
    target: StoryState
    roles: frozenset[Role]
    holder: Holder = Holder.KEEP
    must_hold: bool = False
    must_own: bool = False
    needs_reason: bool = False


def _row(
    source: StoryState | None,
    event: StoryEvent,
    target: StoryState,
    roles: Iterable[Role],
    **options: object,
) -> Transition:
    return Transition(source, event, target, frozenset(roles), **options)  # type: ignore[arg-type]


S, E = StoryState, StoryEvent
TRANSITIONS: tuple[Transition, ...] = (
    _row(None, E.SUBMIT, S.SUBMITTED, {Role.REPORTER}, holder=Holder.NOBODY),
    _row(S.SUBMITTED, E.AMEND, S.SUBMITTED, {Role.REPORTER}, must_own=True),
    _row(S.SUBMITTED, E.CLAIM, S.EDITING, _DESK, holder=Holder.ACTOR),
    _row(S.EDITING, E.ADD_VERSION, S.EDITING, _DESK, must_hold=True),
    _row(S.EDITING, E.RELEASE, S.SUBMITTED, _DESK, must_hold=True, holder=Holder.NOBODY),
    _row(S.EDITING, E.VERIFY, S.VERIFIED, _DESK, must_hold=True, holder=Holder.NOBODY),
    *(
        _row(
            source,
            E.REQUEST_REVISION,
            S.REVISION_REQUESTED,
            _DESK,
            must_hold=source is S.EDITING,
            needs_reason=True,
            holder=Holder.REPORTER,
        )
        for source in (S.SUBMITTED, S.EDITING, S.VERIFIED)
    ),
    _row(
        S.REVISION_REQUESTED,
        E.RESUBMIT,
        S.SUBMITTED,
        {Role.REPORTER},
        must_own=True,
        holder=Holder.NOBODY,
    ),
    *(
        _row(
            source,
            E.SPIKE,
            S.SPIKED,
            _DESK,
            needs_reason=True,
            holder=Holder.NOBODY,
        )
        for source in (S.SUBMITTED, S.EDITING, S.VERIFIED, S.REVISION_REQUESTED)
    ),
    _row(
        S.VERIFIED,
        E.PUBLISH,
        S.PUBLISHING,
        {Role.OPERATOR, Role.SECTION_HEAD},
        holder=Holder.ACTOR,
    ),
    _row(
        S.PUBLISHING,
        E.PUBLISH_SUCCEEDED,
        S.PUBLISHED,
        {Role.SYSTEM},
        holder=Holder.NOBODY,
    ),
    # A correction after publishing: claim it again, edit, verify, publish (updates the posts).
    _row(S.PUBLISHED, E.CLAIM, S.EDITING, _DESK, holder=Holder.ACTOR),
    _row(S.PUBLISHED, E.ARCHIVE, S.ARCHIVED, _DESK | {Role.SYSTEM}),
)


class TransitionTableError(ValueError):
    """The transition table breaks one of the lifecycle's rules."""


def validate(
    rows: Iterable[Transition],
    *,
    initial: StoryState = INITIAL_STATE,
    final: frozenset[StoryState] = FINAL_STATES,
) -> None:
    """Check the table: one initial state, no duplicate rows, no unreachable or dead-end states."""
    rows = tuple(rows)
    problems: list[str] = []
    seen: set[tuple[StoryState | None, StoryEvent]] = set()
    for row in rows:
        key = (row.source, row.event)
        if key in seen:
            problems.append(f"two rows for {row.source} on {row.event}")
        seen.add(key)
        if not row.roles:
            problems.append(f"row {row.source} --{row.event}--> {row.target} names no role")
    entry_targets = {row.target for row in rows if row.source is None}
    if entry_targets != {initial}:
        names = ", ".join(sorted(entry_targets)) or "none"
        problems.append(f"the initial state must be exactly {initial}, the table enters {names}")
    reachable = {initial}
    frontier = [initial]
    while frontier:
        state = frontier.pop()
        for row in rows:
            if row.source is state and row.target not in reachable:
                reachable.add(row.target)
                frontier.append(row.target)
    unreachable = sorted(set(StoryState) - reachable)
    if unreachable:
        problems.append(f"unreachable states: {', '.join(unreachable)}")
    leaving = {row.source for row in rows if row.source is not None and row.target != row.source}
    dead_ends = sorted(s for s in StoryState if s not in final and s not in leaving)
    if dead_ends:
        problems.append(f"dead-end states (not final, no way out): {', '.join(dead_ends)}")
    final_with_exit = sorted(s for s in final if any(row.source is s for row in rows))
    if final_with_exit:
        problems.append(f"final states with outgoing rows: {', '.join(final_with_exit)}")
    if problems:
        raise TransitionTableError("; ".join(problems))


validate(TRANSITIONS)

_BY_KEY: Mapping[tuple[StoryState | None, StoryEvent], Transition] = {
    (row.source, row.event): row for row in TRANSITIONS
}


@dataclass(frozen=True)
class Actor:
    """The person (or Warta itself) asking for a transition."""

    person_id: int | None
    name: str
    roles: frozenset[Role]

    def has_any(self, roles: Iterable[Role]) -> bool:
        return not self.roles.isdisjoint(roles)


SYSTEM_ACTOR = Actor(person_id=None, name="Warta", roles=frozenset({Role.SYSTEM}))


@dataclass(frozen=True)
class StoryFacts:
    """What the decision needs to know about a story."""

    state: StoryState
    reporter_id: int | None
    holder_id: int | None


@dataclass(frozen=True)
class Decision:
    transition: Transition
    new_state: StoryState
    new_holder_id: int | None

    @property
    def changes_state(self) -> bool:
        return self.transition.source is not self.new_state


@dataclass(frozen=True)
class Refusal:
    """A no, with the facts a template needs to explain it."""

    code: Refused
    event: StoryEvent
    state: StoryState | None = None
    roles: tuple[Role, ...] = ()
    holder_id: int | None = None
    missing: tuple[str, ...] = ()
    allowed_events: tuple[StoryEvent, ...] = field(default=())

    @property
    def message(self) -> str:
        """A plain English explanation, for logs and tests."""
        match self.code:
            case Refused.ROLE:
                return f"{self.event} needs one of the roles: {', '.join(self.roles)}"
            case Refused.STATE:
                return f"{self.event} is not possible while the story is {self.state}"
            case Refused.HELD_BY_OTHER:
                return f"{self.event} is for the editor holding the story (person {self.holder_id})"
            case Refused.NOT_OWN_STORY:
                return f"{self.event} is for the story's own reporter"
            case Refused.REASON_REQUIRED:
                return f"{self.event} needs a reason"
            case Refused.CHECKLIST_INCOMPLETE:
                return f"checklist items not confirmed: {', '.join(self.missing)}"
        return str(self.code)  # pragma: no cover - every code is matched above


def events_from(state: StoryState) -> tuple[StoryEvent, ...]:
    """The events the table allows from ``state``, in table order."""
    return tuple(row.event for row in TRANSITIONS if row.source is state)


def rows_for(event: StoryEvent) -> tuple[Transition, ...]:
    return tuple(row for row in TRANSITIONS if row.event is event)


def roles_for(event: StoryEvent) -> frozenset[Role]:
    """Every role that may cause ``event`` in some state."""
    return frozenset(role for row in rows_for(event) for role in row.roles)


def decide(
    story: StoryFacts | None,
    event: StoryEvent,
    actor: Actor,
    *,
    reason: str | None = None,
    missing_checklist: Iterable[str] = (),
) -> Decision | Refusal:
    """Decide whether ``actor`` may cause ``event`` on ``story``; return the outcome or why not.

    The role is checked before the state so that a person learns first whether the command
    is theirs at all. The section head may act for an editor who holds a story.
    """
    source = story.state if story is not None else None
    every_role = roles_for(event)
    if not actor.has_any(every_role):
        return Refusal(Refused.ROLE, event, source, roles=_ordered(every_role))
    row = _BY_KEY.get((source, event))
    if row is None:
        return Refusal(
            Refused.STATE, event, source, allowed_events=events_from(source) if source else ()
        )
    if not actor.has_any(row.roles):
        return Refusal(Refused.ROLE, event, source, roles=_ordered(row.roles))
    if story is not None:
        if (
            row.must_hold
            and story.holder_id is not None
            and story.holder_id != actor.person_id
            and Role.SECTION_HEAD not in actor.roles
        ):
            return Refusal(Refused.HELD_BY_OTHER, event, source, holder_id=story.holder_id)
        if row.must_own and story.reporter_id != actor.person_id:
            return Refusal(Refused.NOT_OWN_STORY, event, source)
    if row.needs_reason and not (reason and reason.strip()):
        return Refusal(Refused.REASON_REQUIRED, event, source)
    missing = tuple(missing_checklist)
    if event is StoryEvent.VERIFY and missing:
        return Refusal(Refused.CHECKLIST_INCOMPLETE, event, source, missing=missing)
    return Decision(
        transition=row,
        new_state=row.target,
        new_holder_id=_holder_after(row.holder, story, actor),
    )


def _holder_after(rule: Holder, story: StoryFacts | None, actor: Actor) -> int | None:
    match rule:
        case Holder.ACTOR:
            return actor.person_id
        case Holder.REPORTER:
            return story.reporter_id if story else actor.person_id
        case Holder.NOBODY:
            return None
    return story.holder_id if story else None


def _ordered(roles: Iterable[Role]) -> tuple[Role, ...]:
    return tuple(role for role in Role if role in set(roles))


def mermaid(rows: Iterable[Transition] = TRANSITIONS) -> str:
    """Draw the table as a Mermaid state diagram (the README embeds this)."""
    lines = ["stateDiagram-v2"]
    for row in rows:
        source = "[*]" if row.source is None else row.source.value
        roles = ", ".join(role.value for role in _ordered(row.roles))
        lines.append(f"    {source} --> {row.target.value}: {row.event.value} ({roles})")
    for state in sorted(FINAL_STATES):
        lines.append(f"    {state.value} --> [*]")
    return "\n".join(lines)
