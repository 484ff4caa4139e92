"""Checks shared by the tests of the tallies the triggers keep (``crm.tallies``)."""

from django.db import models


def tally_rows(*tallies: type[models.Model]) -> dict:
    """Each tally's rows that count something, without their ids."""
    rows = {}
    for model in tallies:
        fields = [field.attname for field in model._meta.concrete_fields if field.name != "id"]
        rows[model.__name__] = sorted(model.objects.filter(n__gt=0).values_list(*fields))
    return rows
