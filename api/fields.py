"""Serializer fields shared by every endpoint."""

import copy
from functools import cached_property

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
from drf_spectacular.plumbing import (
    ResolvedComponent,
    build_basic_type,
    build_choice_field,
    build_object_type,
)
from drf_spectacular.types import OpenApiTypes
from rest_framework import serializers

from crm.access import hidden_fields, require


def write_id(queryset, source: str, **kwargs) -> serializers.PrimaryKeyRelatedField:
    """How every endpoint takes a reference to another record: written as ``<name>_id``
    (this field), read back as ``<name>``, a summary object or the bare id."""
    return serializers.PrimaryKeyRelatedField(
        queryset=queryset, source=source, write_only=True, **kwargs
    )


class FieldsBuiltOnce:
    """Builds a serializer class's fields once per process instead of once per instance.

    DRF builds them for every serializer instance: a deep copy of the declared fields,
    and for a model serializer one field per model field from the model's metadata. The
    360 makes a dozen serializers per request, and that was a sixth of its time. What
    ``get_fields`` builds depends on the class alone (overrides that look at the
    instance or the request, such as ``SectionFieldsMixin``, come before this in the
    method order and change the copies), so each instance gets copies of one set:
    a plain field a shallow copy, which its binding to the instance then changes
    alone; a field holding other fields (a nested serializer, a list's child) a deep
    copy."""

    def get_fields(self):
        built = type(self).__dict__.get("_built_fields")
        if built is None:
            built = {name: (field, _nests(field)) for name, field in super().get_fields().items()}
            type(self)._built_fields = built
        return {
            name: copy.deepcopy(field) if nests else copy.copy(field)
            for name, (field, nests) in built.items()
        }


def _nests(field: serializers.Field) -> bool:
    return isinstance(field, serializers.BaseSerializer) or any(
        isinstance(value, serializers.Field) for value in vars(field).values()
    )


class Serializer(FieldsBuiltOnce, serializers.Serializer):
    """The base of the project's serializers."""


class ModelSerializer(FieldsBuiltOnce, serializers.ModelSerializer):
    """The base of the project's model serializers."""


class ChoiceField(serializers.ChoiceField):
    """Reads as ``{"value": "sent", "label": "Sent"}``; writes the plain value (or the
    same object back)."""

    def to_representation(self, value):
        if value in ("", None):
            return None
        return {"value": value, "label": self.choices.get(value, value)}

    def to_internal_value(self, data):
        if isinstance(data, dict):
            data = data.get("value")
        return super().to_internal_value(data)


class ChoiceFieldExtension(OpenApiSerializerFieldExtension):
    target_class = ChoiceField

    def map_serializer_field(self, auto_schema, direction):
        enum = build_choice_field(self.target)
        if direction == "request":
            return enum
        schema = build_object_type(
            properties={"value": enum, "label": build_basic_type(OpenApiTypes.STR)},
            required=["value", "label"],
        )
        # An empty value reads as null (to_representation).
        if self.target.allow_blank or self.target.allow_null:
            schema["nullable"] = True
        return schema


class UserSummarySerializer(Serializer):
    """A staff member as shown next to a record: id and display name."""

    id = serializers.IntegerField(read_only=True)
    name = serializers.SerializerMethodField()

    def get_name(self, user) -> str:
        return user.get_full_name() or user.get_username()


class SectionFieldsMixin:
    """Drops the fields of record sections the user may not read, and refuses (403,
    naming the section) input to sections the user may not change.

    ``section_fields`` maps a section to its field names. Needs ``request`` in the
    serializer context; without one (internal use) every field is kept."""

    section_fields: dict[str, list[str]] = {}

    def _user(self):
        request = self.context.get("request")
        return getattr(request, "user", None)

    def get_fields(self):
        fields = super().get_fields()
        user = self._user()
        if user is not None:
            for name in hidden_fields(user, self.section_fields):
                fields.pop(name, None)
        return fields

    def to_internal_value(self, data):
        user = self._user()
        if user is not None and hasattr(data, "keys"):
            for section, names in self.section_fields.items():
                if any(name in data for name in names):
                    require(user, section, "write")
        return super().to_internal_value(data)


def one_for_all_rows(serializer_class: type[serializers.Serializer]) -> cached_property:
    """A serializer built once per serializer that uses it, for a method field's nested
    value: building one per row builds its fields every time (a third of a patient
    search's time at a million patients)."""
    return cached_property(lambda self: serializer_class())


class AllowedActionsField(serializers.Field):
    """The actions the record's workflow allows now (``crm.workflow``), read-only."""

    def __init__(self, workflow, **kwargs):
        self.workflow = workflow
        super().__init__(source="*", read_only=True, **kwargs)

    def to_representation(self, record) -> list[str]:
        return self.workflow.allowed_actions(record)


class AllowedActionsFieldExtension(OpenApiSerializerFieldExtension):
    target_class = AllowedActionsField

    def map_serializer_field(self, auto_schema, direction):
        """One named enum per workflow (``ReferralActionEnum``), however many
        serializers show the record."""
        workflow = self.target.workflow
        component = ResolvedComponent(
            name=f"{workflow.name.title().replace('-', '')}ActionEnum",
            type=ResolvedComponent.SCHEMA,
            object=workflow,
            schema={"type": "string", "enum": list(workflow.table)},
        )
        auto_schema.registry.register_on_missing(component)
        return {
            "type": "array",
            "items": component.ref,
            "description": "What may be done now; each is a POST to the action's URL.",
        }


_INPUT_FIELDS = {
    "datetime": serializers.DateTimeField,
    "date": serializers.DateField,
    "boolean": serializers.BooleanField,
}


def transition_input_serializers(workflow) -> dict[str, type[serializers.Serializer]]:
    """One input serializer per action of ``workflow``, built from its declared inputs,
    so the table is the only place an action's input is written down."""
    built = {}
    for action, transition in workflow.table.items():
        fields = {}
        for spec in transition.inputs:
            if spec.kind == "text":
                fields[spec.name] = serializers.CharField(
                    max_length=spec.max_length,
                    required=spec.required,
                    allow_blank=not spec.required,
                    help_text=spec.help or spec.label,
                )
            else:
                fields[spec.name] = _INPUT_FIELDS[spec.kind](
                    required=spec.required, help_text=spec.help or spec.label
                )
        name = "".join(
            part.title() for part in f"{workflow.name} {action}".replace("-", " ").split()
        )
        built[action] = type(
            f"{name}InputSerializer",
            (serializers.Serializer,),
            {**fields, "__doc__": transition.help or f"{transition.label}."},
        )
    return built
