"""Time helpers shared by the apps: report periods and business days, in the clinic's
time zone (``TIME_ZONE``)."""

from datetime import date, datetime, time, timedelta

from django.utils import timezone

from crm.errors import InvalidInput

END_OF_BUSINESS_DAY = time(17)


def period_bounds(start: date, end: date) -> tuple[datetime, datetime]:
    """The period as [start of the start date, start of the day after the end date)."""
    try:
        begin = timezone.make_aware(datetime.combine(start, time.min))
        finish = timezone.make_aware(datetime.combine(end + timedelta(days=1), time.min))
    except (OverflowError, ValueError):
        raise InvalidInput(
            "The period is outside the calendar the clinic keeps.",
            errors={"end": ["Give a date before 9999-12-30."]},
        ) from None
    return begin, finish


def next_business_day(after: datetime) -> datetime:
    """End of the next weekday (17:00 in the clinic's time zone) after ``after``."""
    local = timezone.localtime(after)
    day = local.date() + timedelta(days=1)
    while day.weekday() >= 5:
        day += timedelta(days=1)
    return timezone.make_aware(datetime.combine(day, END_OF_BUSINESS_DAY))
