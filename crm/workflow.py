"""One workflow engine for every record with a status.

A state machine is data: a :class:`Workflow` names its model, its event model and a
table of :class:`Transition` rows (action, the states it starts from, the state it leads
to, the input it needs, a guard). :meth:`Workflow.apply` carries out any transition the
same way: lock the row with its joins, check the version the client saw, refuse an
action the current state does not allow (409 naming the allowed actions), check the
input and the guard, change the row, validate what changed, save it with its history,
write one event row, and run the workflow's reactions. :meth:`allowed_actions`
answers "what may be done now" for the API, which returns it on every record, and the
web app, which draws its buttons and dialogs from it and from :meth:`describe`.

Adding a stateful record is a table here plus thin services that call ``apply``.

Reactions are how a transition causes work elsewhere without an import going the wrong
way: the app that owns a workflow exposes it, and any app above registers a function
with :meth:`Workflow.react` (its own module, or its ``AppConfig.ready``). Each reaction
runs inside the transition's transaction, so it happens exactly when the step does.
"""

import datetime
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from django.db import models
from django.utils import timezone

from crm.errors import InvalidTransition
from crm.roles import Actor
from crm.services import full_clean, lock_for_update, require_reason, save_attributed


@dataclass(frozen=True)
class Input:
    """A value a transition takes from the person doing it, described for forms."""

    name: str
    kind: str  # text, datetime, date, boolean
    label: str
    required: bool = True
    help: str = ""
    max_length: int | None = None


# A reaction to a transition: called as reaction(record, actor=, at=, action=).
Reaction = Callable[..., None]

# A guard looks at the locked record, the moment and the input; it returns why the
# transition may not happen now (a 409), or None.
Guard = Callable[[Any, datetime.datetime, dict], str | None]


@dataclass(frozen=True)
class Transition:
    action: str
    label: str
    sources: frozenset[str]
    # None: the target depends on the record (``target_of`` of the workflow decides).
    target: str | None
    inputs: tuple[Input, ...] = ()
    guard: Guard | None = None
    help: str = ""

    @property
    def reason_required(self) -> bool:
        return any(i.name == "reason" and i.required for i in self.inputs)


def reason(required: bool, help: str = "") -> Input:
    return Input(
        "reason",
        "text",
        "Reason" if required else "Reason (optional)",
        required=required,
        help=help,
        max_length=4000,
    )


@dataclass
class Workflow:
    """A state machine over ``model.<status_field>``."""

    name: str  # the record's name in messages: "referral", "complaint"
    model: type[models.Model]
    transitions: Iterable[Transition]
    event_model: type[models.Model] | None = None
    event_link: str = ""  # the event's foreign key to the record
    status_field: str = "status"
    changed_at_field: str | None = None  # set to the transition time when present
    related: tuple[str, ...] = ()  # joins the lock loads, for the rules and the response
    # For a transition whose target is None: the state to go to.
    target_of: Callable[[Any, Transition], str] | None = None
    # Changes every transition makes, from the locked record, the moment, the action
    # and the state it goes to.
    derive: Callable[[Any, datetime.datetime, str, str], dict] | None = None
    table: dict[str, Transition] = field(init=False)
    reactions: list[Reaction] = field(init=False, default_factory=list)

    def __post_init__(self) -> None:
        self.table = {t.action: t for t in self.transitions}

    def react(self, reaction: Reaction) -> Reaction:
        """Run ``reaction(record, actor=, at=, action=)`` after every transition, in its
        transaction, in the order registered. Usable as a decorator."""
        self.reactions.append(reaction)
        return reaction

    def allowed_actions(self, record: Any) -> list[str]:
        """The actions the record's state allows (guards are checked when applied, with
        their input, so an action listed here may still be refused with a reason)."""
        status = getattr(record, self.status_field)
        return [action for action, t in self.table.items() if status in t.sources]

    def describe(self) -> list[dict]:
        """The table for forms: each action's label and inputs."""
        return [
            {
                "action": t.action,
                "label": t.label,
                "help": t.help,
                "inputs": [
                    {
                        "name": i.name,
                        "kind": i.kind,
                        "label": i.label,
                        "required": i.required,
                        "help": i.help,
                        "max_length": i.max_length,
                    }
                    for i in t.inputs
                ],
            }
            for t in self.table.values()
        ]

    def refuse(self, record: Any, action: str) -> InvalidTransition:
        choices = getattr(self.model._meta.get_field(self.status_field), "choices", None)
        label = dict(choices or []).get(getattr(record, self.status_field), "")
        allowed = self.allowed_actions(record)
        return InvalidTransition(
            f"A {self.name} that is {str(label).lower()} cannot be "
            f"{action.replace('_', '-')}; allowed now: {', '.join(allowed) or 'none'}.",
            current_status=getattr(record, self.status_field),
            allowed_actions=allowed,
        )

    def apply(
        self,
        record: Any,
        action: str,
        *,
        actor: Actor,
        expected_version: int | None = None,
        at: datetime.datetime | None = None,
        reason: str = "",
        changes: dict | None = None,
        details: dict | None = None,
    ) -> Any:
        """Carry out ``action`` on ``record`` (see the module docstring) and return the
        locked, updated instance with the workflow's joins loaded."""
        transition = self.table[action]
        if transition.reason_required:
            require_reason(reason)
        record = lock_for_update(record, expected_version, related=self.related)
        if getattr(record, self.status_field) not in transition.sources:
            raise self.refuse(record, action)
        at = at or timezone.now()
        changes = dict(changes or {})
        if transition.guard is not None:
            refusal = transition.guard(record, at, changes)
            if refusal:
                # The state allows the step but the facts do not, yet: a distinct code,
                # so a client says why instead of "reload".
                raise InvalidTransition(
                    refusal,
                    code="step_refused",
                    current_status=getattr(record, self.status_field),
                    allowed_actions=self.allowed_actions(record),
                )
        from_status = getattr(record, self.status_field)
        target = transition.target
        if target is None:
            assert self.target_of is not None, f"{self.name}: {action} needs target_of"
            target = self.target_of(record, transition)
        if self.derive is not None:
            changes = {**self.derive(record, at, action, target), **changes}
        changes[self.status_field] = target
        if self.changed_at_field:
            changes[self.changed_at_field] = at
        for name, value in changes.items():
            setattr(record, name, value)
        full_clean(record, only=changes)
        save_attributed(record, actor=actor, reason=f"{action}: {reason}" if reason else action)
        if self.event_model is not None:
            self.event_model._default_manager.create(
                **{self.event_link: record},
                action=action,
                from_status=from_status,
                to_status=target,
                actor=actor,
                occurred_at=at,
                reason=reason,
                details=_jsonable(details if details is not None else {}),
            )
        for reaction in self.reactions:
            reaction(record, actor=actor, at=at, action=action)
        return record

    def start(
        self,
        record: Any,
        *,
        actor: Actor,
        at: datetime.datetime,
        action: str = "create",
        react: bool = False,
        details: dict | None = None,
    ) -> None:
        """The first event of a new record (the service has saved it), and with
        ``react`` the reactions, as for a transition named ``action``."""
        if self.event_model is not None:
            self.event_model._default_manager.create(
                **{self.event_link: record},
                action=action,
                to_status=getattr(record, self.status_field),
                actor=actor,
                occurred_at=at,
                details=_jsonable(details or {}),
            )
        if react:
            for reaction in self.reactions:
                reaction(record, actor=actor, at=at, action=action)


def _jsonable(values: dict) -> dict:
    return {
        name: value.isoformat() if isinstance(value, datetime.date) else value
        for name, value in values.items()
        if value not in (None, "")
    }
