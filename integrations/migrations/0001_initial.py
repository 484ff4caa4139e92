"""The change feed's table and the triggers that fill it (``integrations.feed``).

Each followed table gets a row-level trigger after INSERT, UPDATE and DELETE that
writes one change in the same transaction (an update that changes no column but the
derived ones writes none). On PostgreSQL the change carries the writing transaction's
id (``pg_current_xact_id()``), which the feed's cursor uses to never pass a change a
still-open transaction will commit; SQLite writes 0 (one writer at a time: ``id`` order
is commit order).
"""

from django.db import migrations, models

# (model, record type, the record's id column, the patient column); a child row of the
# patient's record counts as an update of the patient.
FOLLOWED = [
    ("patients.Patient", "Patient", "id", "id"),
    ("patients.ContactPoint", "Patient", "patient_id", "patient_id"),
    ("patients.PatientLanguage", "Patient", "patient_id", "patient_id"),
    ("patients.CommunicationConsent", "Patient", "patient_id", "patient_id"),
    ("patients.PatientIdentifier", "Patient", "patient_id", "patient_id"),
    ("interactions.Interaction", "Interaction", "id", "patient_id"),
    ("interactions.Complaint", "Complaint", "id", "patient_id"),
    ("interactions.SurveyResponse", "SurveyResponse", "id", "patient_id"),
    ("referrals.Referral", "Referral", "id", "patient_id"),
    ("referrals.FollowUp", "FollowUp", "id", "patient_id"),
    ("appointments.Appointment", "Appointment", "id", "patient_id"),
    ("messaging.Message", "Message", "id", "patient_id"),
]

# Columns that other triggers keep from other rows (``interactions.replies``): an update
# that changes nothing else changes nothing the record shows, and is not reported.
DERIVED = ("first_reply_at",)
_DERIVED_KEYS = f"ARRAY{list(DERIVED)}"

POSTGRES_FUNCTION = f"""
CREATE OR REPLACE FUNCTION integrations_record_change() RETURNS trigger AS $$
DECLARE
    row_data jsonb;
BEGIN
    IF TG_OP = 'DELETE' THEN row_data := to_jsonb(OLD); ELSE row_data := to_jsonb(NEW); END IF;
    IF TG_OP = 'UPDATE' AND to_jsonb(OLD) - {_DERIVED_KEYS} = row_data - {_DERIVED_KEYS} THEN
        RETURN NULL;
    END IF;
    INSERT INTO integrations_change
        (txid, record_type, record_id, action, patient_id, restricted, occurred_at)
    VALUES (
        pg_current_xact_id()::text::bigint,
        TG_ARGV[0],
        (row_data ->> TG_ARGV[1])::bigint,
        CASE
            WHEN TG_ARGV[0] = 'Patient' AND TG_ARGV[1] = 'patient_id' THEN 'update'
            WHEN TG_OP = 'INSERT' THEN 'create'
            WHEN TG_OP = 'UPDATE' THEN 'update'
            ELSE 'delete'
        END,
        (row_data ->> TG_ARGV[2])::bigint,
        coalesce(row_data ->> 'sensitivity', '') = 'restricted',
        clock_timestamp()
    );
    RETURN NULL;
END;
$$ LANGUAGE plpgsql
"""


def install_triggers(apps, schema_editor, followed):
    """The change triggers of the ``followed`` tables (later migrations add theirs)."""
    vendor = schema_editor.connection.vendor
    for label, record_type, id_column, patient_column in followed:
        model = apps.get_model(label)
        table = model._meta.db_table
        if vendor == "postgresql":
            schema_editor.execute(
                f"CREATE TRIGGER integrations_change AFTER INSERT OR UPDATE OR DELETE "
                f"ON {table} FOR EACH ROW EXECUTE FUNCTION integrations_record_change("
                f"'{record_type}', '{id_column}', '{patient_column}')"
            )
            continue
        restricted = any(f.name == "sensitivity" for f in model._meta.fields)
        child = id_column == "patient_id"
        # Only their triggers write the derived columns, and never the change time with
        # them: an update that changed one but not the change time is theirs.
        derived = [f.column for f in model._meta.concrete_fields if f.column in DERIVED]
        when = " AND ".join(f"OLD.{column} IS NEW.{column}" for column in derived)
        if derived:
            when = f"WHEN OLD.updated_at IS NOT NEW.updated_at OR ({when}) "
        for event, row, condition in (
            ("INSERT", "NEW", ""),
            ("UPDATE", "NEW", when),
            ("DELETE", "OLD", ""),
        ):
            action = (
                "update"
                if child
                else {"INSERT": "create", "UPDATE": "update"}.get(event, "delete")
            )
            schema_editor.execute(
                f"CREATE TRIGGER integrations_change_{table}_{event.lower()} AFTER {event} "
                f"ON {table} FOR EACH ROW {condition}BEGIN INSERT INTO integrations_change "
                "(txid, record_type, record_id, action, patient_id, restricted, occurred_at) "
                f"VALUES (0, '{record_type}', {row}.{id_column}, '{action}', "
                f"{row}.{patient_column}, "
                f"{f"{row}.sensitivity = 'restricted'" if restricted else '0'}, "
                "strftime('%Y-%m-%d %H:%M:%f', 'now')); END"
            )


def remove_triggers(apps, schema_editor, followed):
    vendor = schema_editor.connection.vendor
    for label, *_ in followed:
        table = apps.get_model(label)._meta.db_table
        if vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER IF EXISTS integrations_change ON {table}")
        else:
            for event in ("insert", "update", "delete"):
                schema_editor.execute(
                    f"DROP TRIGGER IF EXISTS integrations_change_{table}_{event}"
                )


def _install(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(POSTGRES_FUNCTION)
    install_triggers(apps, schema_editor, FOLLOWED)


def _remove(apps, schema_editor):
    remove_triggers(apps, schema_editor, FOLLOWED)
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP FUNCTION IF EXISTS integrations_record_change()")


class Migration(migrations.Migration):
    initial = True

    dependencies = [
        ("patients", "0009_self_service_pages"),
        ("interactions", "0006_survey_languages"),
        ("referrals", "0006_follow_up_kind_answer_message"),
        ("appointments", "0002_service_types_and_referral_appointments"),
        ("messaging", "0006_self_service_pages"),
    ]

    operations = [
        migrations.CreateModel(
            name="Change",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("txid", models.BigIntegerField(default=0)),
                ("record_type", models.CharField(max_length=32)),
                ("record_id", models.BigIntegerField()),
                (
                    "action",
                    models.CharField(
                        choices=[
                            ("create", "Created"),
                            ("update", "Updated"),
                            ("delete", "Deleted"),
                        ],
                        max_length=8,
                    ),
                ),
                ("patient_id", models.BigIntegerField(null=True)),
                ("restricted", models.BooleanField(default=False)),
                ("occurred_at", models.DateTimeField()),
            ],
            options={
                "ordering": ["txid", "id"],
                "indexes": [models.Index(fields=["txid", "id"], name="change_feed_order_idx")],
                "constraints": [
                    models.CheckConstraint(
                        condition=models.Q(action__in=["create", "update", "delete"]),
                        name="integrations_change_action",
                    )
                ],
            },
        ),
        migrations.RunPython(_install, _remove),
    ]
