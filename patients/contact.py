"""The contact policy: may we contact this patient, how, and if not, why?

One pure function answers it for every caller (logging an outbound interaction, the
care rules' to-dos, survey invitations, the badges on the 360), from the patient's
prefetched consents, contact points and languages and a moment in time. It makes no
query of its own when those rows are prefetched.

What it weighs, in order:

1. the patient's status (deceased and merged records are never contacted) and
   do-not-contact;
2. consent per channel and purpose, counting an opt-out only while it is in effect
   (between its ``effective_from`` and ``effective_to``, in the patient's local date);
3. a usable address for the channel (a phone number for phone and SMS, an email
   address for email), when the caller is about to reach out rather than record a
   contact that already happened;
4. channel fallback: a caller that names no channel gets the first allowed one of the
   patient's preferred channel, then :data:`FALLBACK_ORDER`;
5. the contact window in the patient's time zone: whether now is inside it, and when it
   next opens (an automated send waits for it; staff are told);
6. the language to use and whether an interpreter is needed.
"""

import datetime
import zoneinfo
from dataclasses import dataclass, field, replace
from functools import cache

from django.conf import settings
from django.utils import timezone

from crm.choices import Channel
from patients.choices import (
    ConsentPurpose,
    ConsentStatus,
    ContactSystem,
    ContactUse,
    InterpreterNeeded,
    PatientStatus,
)
from patients.models import Patient, PatientLanguage

# Channels tried, in this order, after the patient's preferred one.
FALLBACK_ORDER = (Channel.SMS, Channel.EMAIL, Channel.PHONE)
# The contact point systems that can carry each channel.
ADDRESS_SYSTEMS: dict[str, tuple[str, ...]] = {
    Channel.PHONE: (ContactSystem.PHONE, ContactSystem.SMS),
    Channel.SMS: (ContactSystem.SMS, ContactSystem.PHONE),
    Channel.EMAIL: (ContactSystem.EMAIL,),
}


@dataclass(frozen=True)
class ContactDecision:
    """The policy's answer. ``code`` is empty when contact is allowed; otherwise it
    names the rule that refused (``deceased``, ``merged``, ``do_not_contact``,
    ``opted_out``, ``no_address``) and ``reason`` says it in a sentence."""

    purpose: str
    channel: str  # the channel to use; the one asked for when refused
    allowed: bool
    code: str = ""
    reason: str = ""
    address: str = ""
    language: str = ""  # BCP-47 tag of the language to use; empty when none recorded
    interpreter_needed: bool = False
    within_window: bool | None = None  # None: the patient gave no window
    window_opens_at: datetime.datetime | None = None  # next opening when outside it
    notes: list[str] = field(default_factory=list)

    def note(self) -> str:
        """The whole answer as one sentence for a person (a follow-up's note)."""
        return " ".join([self.reason, *self.notes] if self.reason else self.notes)


def preferred_language(patient: Patient) -> PatientLanguage | None:
    """The language marked preferred, else the best-ranked one (prefetched rows)."""
    languages = list(patient.languages.all())
    preferred = [language for language in languages if language.preferred]
    return min(preferred or languages, key=lambda language: language.rank, default=None)


@cache
def _zone(name: str) -> datetime.tzinfo:
    try:
        return zoneinfo.ZoneInfo(name or str(settings.TIME_ZONE))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(str(settings.TIME_ZONE))


def patient_zone(patient: Patient) -> datetime.tzinfo:
    """The patient's time zone, else the clinic's."""
    return _zone(patient.time_zone)


def _window(
    start: datetime.time, end: datetime.time, zone: datetime.tzinfo, at: datetime.datetime
) -> tuple[bool, datetime.datetime | None]:
    local = at.astimezone(zone)
    now = local.time()
    inside = start <= now < end if start <= end else (now >= start or now < end)
    if inside:
        return True, None
    day = local.date() if now < start else local.date() + datetime.timedelta(days=1)
    return False, datetime.datetime.combine(day, start, tzinfo=zone)


def window_state(
    patient: Patient, at: datetime.datetime
) -> tuple[bool | None, datetime.datetime | None]:
    """Whether ``at`` is inside the patient's contact window (None when they gave
    none), and when the window next opens if not. A window may span midnight."""
    start, end = patient.contact_window_start, patient.contact_window_end
    if start is None or end is None:
        return None, None
    return _window(start, end, patient_zone(patient), at)


def sending_hours_state(
    patient: Patient, at: datetime.datetime
) -> tuple[bool, datetime.datetime | None]:
    """Like :func:`window_state`, for automated messages: the patient's own window, or
    when they gave none, the clinic's messaging hours (``MESSAGING_HOURS``) in the
    patient's time zone, so no reminder arrives at 02:00 their time."""
    start, end = patient.contact_window_start, patient.contact_window_end
    if start is None or end is None:
        start, end = settings.MESSAGING_HOURS
    return _window(start, end, patient_zone(patient), at)


def opted_out(patient: Patient, on: datetime.date) -> list:
    """The patient's opt-outs in effect on ``on`` (prefetched consents)."""
    return [
        consent
        for consent in patient.consents.all()
        if consent.status == ConsentStatus.OPT_OUT and consent.is_in_effect(on)
    ]


def _address(points: list, channel: str, on: datetime.date) -> str:
    systems = ADDRESS_SYSTEMS.get(channel)
    if systems is None:
        return ""
    usable = [
        point
        for point in points
        if point.system in systems
        and point.use != ContactUse.OLD
        and (point.period_end is None or point.period_end >= on)
        and (point.period_start is None or point.period_start <= on)
    ]
    # SMS goes to an SMS number first, then to a mobile phone.
    usable.sort(key=lambda p: (systems.index(p.system), p.use != ContactUse.MOBILE, p.rank))
    return usable[0].value if usable else ""


def contact_policy(
    patient: Patient,
    *,
    purpose: str,
    at: datetime.datetime | None = None,
    channel: str = "",
    needs_address: bool = True,
    among: tuple[str, ...] = (),
) -> ContactDecision:
    """May we contact ``patient`` for ``purpose`` at ``at``, on ``channel`` (or, when
    none is named, on the first allowed channel in fallback order, limited to ``among``
    when given)? See the module docstring for the rules; the answer carries the reason
    when it is no."""
    at = at or timezone.now()
    local_date = at.astimezone(patient_zone(patient)).date()
    language = preferred_language(patient)
    within, opens_at = window_state(patient, at)
    interpreter = patient.interpreter_needed == InterpreterNeeded.YES
    refused = ContactDecision(
        purpose=purpose,
        channel=channel,
        allowed=False,
        language=language.language if language else "",
        interpreter_needed=interpreter,
        within_window=within,
        window_opens_at=opens_at,
        # Whoever reaches the patient another way needs to know it too.
        notes=["Interpreter needed."] if interpreter else [],
    )
    status = _refusal(patient)
    if status is not None:
        return replace(refused, code=status[0], reason=status[1])

    opted = {(c.channel, c.purpose) for c in opted_out(patient, local_date)}
    points = list(patient.contact_points.all())  # one query at most, for every channel
    candidates = (
        [channel] if channel else [c for c in _channel_order(patient) if not among or c in among]
    )
    first: ContactDecision | None = None
    for candidate in candidates:
        address = _address(points, candidate, local_date)
        label = Channel(candidate).label.lower()
        if (candidate, purpose) in opted:
            code = "opted_out"
            reason = (
                f"The patient opted out of {label} for {ConsentPurpose(purpose).label.lower()}."
            )
        elif needs_address and candidate in ADDRESS_SYSTEMS and not address:
            code, reason = "no_address", f"No usable {label} address is recorded."
        else:
            notes = list(refused.notes)
            if within is False and opens_at is not None:
                notes.append(f"Outside the contact window until {opens_at:%Y-%m-%d %H:%M %Z}.")
            return replace(refused, channel=candidate, allowed=True, address=address, notes=notes)
        first = first or replace(refused, channel=candidate, code=code, reason=reason)
    assert first is not None  # there is always at least one candidate
    if not channel and len(candidates) > 1:
        first = replace(first, reason=first.reason + " No other channel is allowed either.")
    return first


def _refusal(patient: Patient) -> tuple[str, str] | None:
    if patient.status == PatientStatus.DECEASED:
        return "deceased", "The patient is recorded as deceased."
    if patient.status == PatientStatus.MERGED:
        return "merged", "This record was merged into another one."
    if patient.do_not_contact:
        return "do_not_contact", "The patient asked not to be contacted."
    return None


def _channel_order(patient: Patient) -> list[str]:
    preferred = [patient.preferred_channel] if patient.preferred_channel else []
    return list(dict.fromkeys([*preferred, *FALLBACK_ORDER]))


def contact_summary(patient: Patient, *, at: datetime.datetime) -> dict:
    """What the 360's header shows: the opt-outs in effect now, the language, the
    patient's local time and window, and the policy's answer for every purpose."""
    zone = patient_zone(patient)
    within, opens_at = window_state(patient, at)
    language = preferred_language(patient)
    return {
        "preferred_language": language.language if language else None,
        "local_time": at.astimezone(zone),
        "within_window": within,
        "window_opens_at": opens_at,
        "opted_out": [
            {"channel": c.channel, "purpose": c.purpose}
            for c in opted_out(patient, at.astimezone(zone).date())
        ],
        "purposes": [
            contact_policy(patient, purpose=purpose, at=at) for purpose in ConsentPurpose.values
        ],
    }
