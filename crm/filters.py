"""Filter classes shared by every filterset."""

import datetime
import re

import django_filters
from django import forms
from django.core.exceptions import ValidationError

BIGINT = 2**63


class _IdsField(forms.ModelMultipleChoiceField):
    """Refuses ids no database integer can hold before they reach an ``IN`` query
    (Django guards single-value integer lookups against overflow, not ``IN`` lists)."""

    def _check_values(self, value):
        for pk in value:
            try:
                number = int(str(pk))
            except ValueError:
                number = None
            if number is None or not -BIGINT <= number < BIGINT:
                raise ValidationError(
                    self.error_messages["invalid_pk_value"],
                    code="invalid_pk_value",
                    params={"pk": str(pk)[:40]},
                )
        return super()._check_values(value)


class ChoicesFilter(django_filters.MultipleChoiceFilter):
    """One or more values of a column of the listed table (repeat the parameter).

    Without DISTINCT, django-filter's default for multiple values, which only a join to
    many rows needs: DISTINCT makes the database sort the whole result before it cuts a
    page (overdue referrals at 2,000,000: 2.6 s, against 15 ms without)."""

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("distinct", False)
        super().__init__(*args, **kwargs)


class ModelMultipleChoiceFilter(django_filters.ModelMultipleChoiceFilter):
    """One or more records by id (repeat the parameter); a foreign key of the listed
    table, so without DISTINCT (see ``ChoicesFilter``)."""

    field_class = _IdsField

    def __init__(self, *args, **kwargs):
        kwargs.setdefault("distinct", False)
        super().__init__(*args, **kwargs)


def _absent(value) -> bool:
    """A parameter left out arrives as None; one sent empty is refused, as the schema
    allows no empty value."""
    if value == "":
        raise ValidationError("Give a value, or leave the parameter out.", code="invalid")
    return value is None


class _StrictBooleanField(forms.Field):
    def to_python(self, value):
        if _absent(value):
            return None
        lowered = str(value).lower()
        if lowered not in ("true", "false"):
            raise ValidationError("Use true or false.", code="invalid")
        return lowered == "true"


class BooleanFilter(django_filters.BooleanFilter):
    """true or false; anything else is a field error, never silently ignored."""

    field_class = _StrictBooleanField


RFC3339 = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(\.\d{1,6})?([Zz]|[+-]\d{2}:\d{2})$"
)


class _StrictDateTimeField(forms.DateTimeField):
    def to_python(self, value):
        if _absent(value):
            return None
        if not isinstance(value, str) or not RFC3339.match(value):
            raise ValidationError(
                "Use a full date and time with its offset, e.g. 2026-11-15T09:30:00Z.",
                code="invalid",
            )
        parsed = super().to_python(value.replace("z", "Z"))
        try:
            # In UTC: a database accepts offsets only up to about 16 hours.
            return parsed.astimezone(datetime.UTC)
        except (OverflowError, ValueError):
            raise ValidationError("The date and time is out of range.", code="invalid") from None


class IsoDateTimeFilter(django_filters.IsoDateTimeFilter):
    """An RFC 3339 date-time with offset, as the schema says."""

    field_class = _StrictDateTimeField


class _StrictDateField(forms.DateField):
    input_formats = ["%Y-%m-%d"]

    def to_python(self, value):
        if _absent(value):
            return None
        return super().to_python(value)


class DateFilter(django_filters.DateFilter):
    """A date as YYYY-MM-DD only."""

    field_class = _StrictDateField


class _IdField(forms.IntegerField):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, min_value=1, max_value=BIGINT - 1, **kwargs)

    def to_python(self, value):
        if _absent(value):
            return None
        return super().to_python(value)


class IdFilter(django_filters.Filter):
    """Rows linked to the record with this id. The id is not looked up: whether such a
    record exists, and whether the caller may see it, must not change the answer (an
    empty page either way), or the filter would tell what the access policy hides."""

    field_class = _IdField
