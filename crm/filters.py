"""Filter classes shared by every filterset."""

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


class ModelMultipleChoiceFilter(django_filters.ModelMultipleChoiceFilter):
    """One or more records by id (repeat the parameter)."""

    field_class = _IdsField
