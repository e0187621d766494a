"""Serializer speed for large pages: the same output as DRF's, without its per-field dispatch."""

from __future__ import annotations

from django.utils import timezone
from rest_framework import fields as drf_fields
from rest_framework.relations import PKOnlyObject, PrimaryKeyRelatedField
from rest_framework.settings import api_settings

# Field classes whose representation of a plain model value is the value itself (or ``str``/``int`` of it).
_PLAIN = {drf_fields.CharField: str, drf_fields.IntegerField: int, drf_fields.BooleanField: None}


# ``to_representation`` as DRF's ModelSerializer writes it, planned once per serializer instance.
#
# DRF resolves every field's source, checks for callables and re-reads the current time zone for each
# field of each row; on a 500-row page that is most of the request. Here a field whose source is one
# of the model's own columns (or a value annotated on the row) is read with ``getattr`` and given to the
# field's ``to_representation`` (plain text, numbers and booleans kept as they are, date-times converted
# with the time zone read once), a related row's id is read from its foreign key column, and any other
# field goes through DRF as before. The output is the same dict.
#
# A comment, not a docstring: the OpenAPI schema describes each serializer with the first docstring of
# its classes, and this one is for whoever reads the code, not for the API's users.
#
# A serializer whose output depends on its row alone, never on ``self.context`` (the request, the user), sets
# ``row_only``: its fields are then built once per class, on one instance made without context, and its plans
# are shared by every instance, one plan for each shape of row (which of its sources the row has loaded). Other
# serializers build their fields, as DRF does, for each request. Building a ModelSerializer's fields costs more
# than writing a detail read's row.
class FastRepresentationMixin:
    row_only = False

    def to_representation(self, instance):
        plan = self.__dict__.get("_representation_plan")
        if plan is None:
            if self.row_only:
                return self._write(instance, _shared_plan(type(self), instance))
            plan = self._representation_plan = self._plan_representation(instance)
        return self._write(instance, plan)

    @staticmethod
    def _write(instance, plan):
        ret = {}
        for name, attname, convert, field in plan:
            if attname is not None:
                value = getattr(instance, attname)
                ret[name] = None if value is None else (convert(value) if convert else value)
                continue
            try:
                attribute = field.get_attribute(instance)
            except drf_fields.SkipField:
                continue
            check = attribute.pk if isinstance(attribute, PKOnlyObject) else attribute
            ret[name] = None if check is None else field.to_representation(attribute)
        return ret

    def _plan_representation(self, instance):
        model_fields = {f.name: f for f in self.Meta.model._meta.concrete_fields}
        loaded = getattr(instance, "__dict__", {})  # columns, and what the queryset annotated on each row
        plan = []
        for field in self._readable_fields:
            kind, model_field = type(field), model_fields.get(field.source)
            attname = None
            if len(field.source_attrs) == 1 and model_field is not None:
                if not model_field.is_relation:
                    attname = model_field.attname
                elif kind is PrimaryKeyRelatedField and field.pk_field is None:
                    # The related row's id, as DRF writes it: the foreign key column itself.
                    plan.append((field.field_name, model_field.attname, None, field))
                    continue
            elif len(field.source_attrs) == 1 and field.source in loaded and not callable(loaded[field.source]):
                attname = field.source
            if attname is None:
                plan.append((field.field_name, None, None, field))
            elif kind in _PLAIN:
                plan.append((field.field_name, attname, _PLAIN[kind], field))
            elif kind is drf_fields.DateTimeField and _iso_output(field):
                plan.append((field.field_name, attname, _datetime_writer(field), field))
            else:
                plan.append((field.field_name, attname, field.to_representation, field))
        return plan


def _shared_plan(serializer_class, instance):
    shared = serializer_class.__dict__.get("_shared_plans")
    if shared is None:
        prototype = serializer_class()
        columns = {field.name for field in serializer_class.Meta.model._meta.concrete_fields}
        # What a row may or may not have loaded: the sources a plan reads from the row when they are there
        # (annotations), not the model's columns, read the same way always.
        sources = tuple(
            field.source
            for field in prototype._readable_fields
            if len(field.source_attrs) == 1 and field.source not in columns
        )
        shared = (prototype, sources, {})
        serializer_class._shared_plans = shared  # per class: a subclass has fields of its own
    prototype, sources, plans = shared
    loaded = getattr(instance, "__dict__", {})
    # The plan writes date-times in the time zone active when it was made.
    shape = (
        timezone.get_current_timezone(),
        *(source in loaded and not callable(loaded[source]) for source in sources),
    )
    plan = plans.get(shape)
    if plan is None:
        plan = plans[shape] = prototype._plan_representation(instance)
    return plan


def _iso_output(field) -> bool:
    output_format = getattr(field, "format", api_settings.DATETIME_FORMAT)
    return isinstance(output_format, str) and output_format.lower() == drf_fields.ISO_8601


def _datetime_writer(field):
    zone = field.timezone if hasattr(field, "timezone") else field.default_timezone()

    def write(value):
        if zone is None or getattr(value, "tzinfo", None) is None:
            return field.to_representation(value)  # naive values and no time zone: DRF's own rules
        text = value.astimezone(zone).isoformat()
        return text[:-6] + "Z" if text.endswith("+00:00") else text

    return write
