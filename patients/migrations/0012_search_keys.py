"""Search: an index for MRNs in any case, and the names' search key in Latin letters
for names in other scripts (``patients.validators.name_search_key``). Names all in
ASCII keep the key they have."""

from django.db import migrations, models
from django.db.models.functions import Upper

from patients.validators import name_search_key


def rekey(apps, schema_editor):
    Patient = apps.get_model("patients", "Patient")
    length = Patient._meta.get_field("name_search").max_length
    changed = []
    for patient in Patient.objects.filter(name_search__regex=r"[^\x00-\x7f]").iterator(2000):
        patient.name_search = name_search_key(
            patient.given_name, patient.middle_name, patient.preferred_name, patient.family_name
        )[:length]
        changed.append(patient)
        if len(changed) == 2000:
            Patient.objects.bulk_update(changed, ["name_search"])
            changed = []
    Patient.objects.bulk_update(changed, ["name_search"])


class Migration(migrations.Migration):
    dependencies = [("patients", "0011_patient_merge")]

    operations = [
        migrations.AddIndex(
            model_name="patient",
            index=models.Index(Upper("mrn"), name="patient_mrn_upper_idx"),
        ),
        migrations.RunPython(rekey, migrations.RunPython.noop),
    ]
