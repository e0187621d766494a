"""What GSTP said at a past moment (``?as_of=``), answered from the history django-simple-history records.

Every history-tracked model has a table of historical rows: one per write, with the row's values then,
``history_date`` and ``history_type`` (+ created, ~ changed, - deleted). The state at a moment is, for each
row, its latest historical row at or before the moment, unless that one records its deletion.

``rows(model, as_of)`` is the one place that turns a model's live rows into the rows as of a moment: the
access modules and selectors start from it, so an as-of answer is scoped, filtered and shaped by the same
code as the live one. What it returns behaves as a queryset of the model itself: it yields model instances
(with what was annotated and ``select_related`` on each), takes ``pk`` in filters and orderings as the
row's id, and runs ``prefetch_related`` on the instances, so reverse relations (agency links, a report's
milestone entries) work as on live rows, with their present content.
"""

from __future__ import annotations

import datetime
import re
from zoneinfo import ZoneInfo

from django.apps import apps
from django.conf import settings
from django.db.models import Exists, Model, OuterRef, Q, QuerySet, prefetch_related_objects
from django.utils import timezone
from django.utils.dateparse import parse_datetime
from django.utils.http import http_date
from django.utils.translation import gettext as _
from drf_spectacular.openapi import AutoSchema
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter
from rest_framework.exceptions import ValidationError
from rest_framework.permissions import SAFE_METHODS
from simple_history.manager import HistoricalQuerySet

from . import calendar
from .middleware import _latest_update

AS_OF = "as_of"
HISTORY_BEGAN = "history began"  # the mark of the starting points recorded for rows older than their history
UNESCAPED_PLUS = re.compile(r"(?<=\d) (\d{2}:?\d{2})$")


def parse_as_of(value: str, *, now: datetime.datetime | None = None) -> datetime.datetime:
    """The moment ``?as_of=`` names: a date (either calendar, ``gstp.calendar``) is the end of that day in
    Asia/Taipei (``TIME_ZONE``), a time is ISO 8601 with its offset (``2025-09-30T18:00:00+08:00``,
    ``...Z``). A 400 naming ``as_of`` for anything else, for a time without an offset, and for a moment
    still to come."""
    # A "+" left unescaped in a query string arrives as a space: "...T18:00:00 08:00" means +08:00.
    value = UNESCAPED_PLUS.sub(r"+\1", value.strip())
    moment, is_day = None, False
    try:
        day, is_day = calendar.parse_date(value), True
        moment = datetime.datetime.combine(day, datetime.time.max, tzinfo=ZoneInfo(settings.TIME_ZONE))
    except ValueError:
        try:
            moment = parse_datetime(value) if "T" in value or " " in value else None
        except ValueError:
            moment = None
    if moment is None or moment.tzinfo is None:
        raise ValidationError(
            {
                AS_OF: [
                    _(
                        "Use a date (2025-09-30, 114/09/30 or 民國114年9月30日) or an ISO 8601 time with its offset "
                        "(2025-09-30T18:00:00+08:00)."
                    )
                ]
            }
        )
    if moment > (now or timezone.now()) and not (is_day and moment.date() <= timezone.localdate()):
        raise ValidationError({AS_OF: [_("Name a moment that has passed: history has nothing to say of it yet.")]})
    began = history_began()
    if began is not None and moment < began:
        raise ValidationError(
            {
                AS_OF: [
                    _("GSTP's recorded history begins at %(began)s: name a moment since then.")
                    % {"began": timezone.localtime(began).isoformat(timespec="seconds")}
                ]
            }
        )
    return min(moment, now or timezone.now())


def history_began() -> datetime.datetime | None:
    """When recorded history began, if rows predate it: the time of the first starting point (rows that
    existed before history was recorded got one, dated when that began). Before it, what they said was never
    recorded, so an as-of answer is refused rather than guessed. None when every row's history is its own."""
    plan_tree = apps.get_model("projects", "PlanNode").history
    first = plan_tree.order_by("history_date").values_list("history_date", "history_change_reason").first()
    return first[0] if first and first[1] == HISTORY_BEGAN else None


def requested_as_of(request) -> datetime.datetime | None:
    """The moment a request's ``?as_of=`` names, or None for the present."""
    params = getattr(request, "query_params", None) or request.GET
    value = params.get(AS_OF)
    return None if value is None else parse_as_of(value)


class AsOfQuerySet(HistoricalQuerySet):
    """Historical rows as of a moment, behaving as the model's own rows (see the module's docstring)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self._as_instances = True
        self._on_instances = ()

    def on_instances(self, *calls):
        """Call each of ``calls`` with the list of instances read, as a prefetch would run."""
        clone = self._chain()
        clone._on_instances = (*self._on_instances, *calls)
        return clone

    def _clone(self):
        clone = super()._clone()
        clone._on_instances = self._on_instances
        return clone

    def _translated(self, kwargs):
        return {
            self._pk_attr + key[2:] if key == "pk" or key.startswith("pk__") else key: v for key, v in kwargs.items()
        }

    def filter(self, *args, **kwargs):
        return super().filter(*args, **self._translated(kwargs))

    def exclude(self, *args, **kwargs):
        return super().exclude(*args, **self._translated(kwargs))

    def order_by(self, *names):
        pk = self._pk_attr
        return super().order_by(*(pk if n == "pk" else f"-{pk}" if n == "-pk" else n for n in names))

    def _fetch_all(self):
        if self._result_cache is None:
            self._result_cache = list(self._iterable_class(self))
            self._instanceize()
            if self._result_cache and isinstance(self._result_cache[0], self.model.instance_type):
                for call in self._on_instances:
                    call(self._result_cache)
        if self._prefetch_related_lookups and not self._prefetch_done:
            self._prefetch_related_objects()

    def _prefetch_related_objects(self):
        prefetch_related_objects(self._result_cache, *self._prefetch_related_lookups)
        self._prefetch_done = True

    def _instanceize(self):
        if not self._result_cache or not isinstance(self._result_cache[0], self.model):
            return
        annotations = list(self.query.annotations)
        model = self.model.instance_type
        # Built as rows read from the model's own table (``from_db``, all columns in order): a page of 500 is
        # as cheap to make as a live one, where simple-history's ``instance`` calls the model with keywords.
        attnames = [field.attname for field in model._meta.concrete_fields]
        instances = []
        for row in self._result_cache:
            instance = model.from_db(self.db, attnames, [getattr(row, name) for name in attnames])
            instance._state.fields_cache.update(row._state.fields_cache)  # what select_related read
            for name in annotations:
                setattr(instance, name, getattr(row, name))
            instances.append(instance)
        self._result_cache = instances

    def iterator(self, chunk_size=None):
        for row in super().iterator(chunk_size):
            yield row.instance if isinstance(row, self.model) else row


def history_model(model: type[Model]) -> type[Model]:
    return model.history.model


def rows(model: type[Model], as_of: datetime.datetime | None = None) -> QuerySet:
    """The model's rows now (``as_of`` None), or as they were at ``as_of``: each row's latest historical row
    at or before it, rows created later or deleted by then left out, in the model's own order."""
    if as_of is None:
        return model._default_manager.all()
    historical = history_model(model)
    later = historical._default_manager.filter(
        Q(history_date__gt=OuterRef("history_date"))
        | Q(history_date=OuterRef("history_date"), history_id__gt=OuterRef("history_id")),
        id=OuterRef("id"),
        history_date__lte=as_of,
    )
    queryset = AsOfQuerySet(model=historical).filter(history_date__lte=as_of).filter(~Exists(later))
    queryset = queryset.exclude(history_type="-")
    queryset._as_of = as_of
    return queryset.order_by(*(model._meta.ordering or ["pk"]))


def is_as_of(queryset) -> bool:
    return isinstance(queryset, AsOfQuerySet)


def node_ref(queryset, name: str = "pk") -> str:
    """How a subquery names the outer row's id: ``pk`` on live rows is the history row's own id on
    historical ones, so there it is ``id``."""
    return "id" if name == "pk" and is_as_of(queryset) else name


# What an as-of view answers as of a past moment: its list and its details (an APIView's ``get``: no action).
AS_OF_ACTIONS = (None, "list", "retrieve")
AS_OF_PARAMETER = OpenApiParameter(
    AS_OF,
    OpenApiTypes.STR,
    description=(
        "The answer as of a past moment, from the recorded history: a date (2025-09-30, the end of that day in "
        "Asia/Taipei) or an ISO 8601 time with its offset. Read-only; 400 when bad or still to come."
    ),
)


class AsOfSchema(AutoSchema):
    """Documents ``as_of`` on the reads of an ``AsOfMixin`` view."""

    def get_override_parameters(self):
        parameters = super().get_override_parameters()
        answers = self.method == "GET" and getattr(self.view, "action", None) in AS_OF_ACTIONS
        return [*parameters, AS_OF_PARAMETER] if answers else parameters


# An API view that also answers ``?as_of=``: ``self.as_of`` is the moment (None for the present) for
# ``get_queryset`` to hand to its selector. An as-of answer is read-only (any other method with ``as_of`` is
# a 400 naming it) and cacheable: its ``ETag`` (``ConditionalGetMiddleware``) answers ``If-None-Match`` with
# 304, and its ``Last-Modified`` is never later than the moment asked for.
#
# A comment, not a docstring: the OpenAPI schema describes a view with the first docstring of its classes.
class AsOfMixin:
    as_of: datetime.datetime | None = None
    schema = AsOfSchema()

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if AS_OF not in request.query_params:
            return
        if request.method not in SAFE_METHODS:
            raise ValidationError(
                {AS_OF: [_("An answer as of a past moment is read-only: leave out as_of to change.")]}
            )
        if getattr(self, "action", None) not in AS_OF_ACTIONS:
            raise ValidationError({AS_OF: [_("This answer is only ever the present one: leave out as_of.")]})
        self.as_of = requested_as_of(request)

    def finalize_response(self, request, response, *args, **kwargs):
        response = super().finalize_response(request, response, *args, **kwargs)
        if self.as_of is not None and response.status_code == 200:
            latest = _latest_update(getattr(response, "data", None))
            response["Last-Modified"] = http_date(min(latest or self.as_of, self.as_of).timestamp())
            # A row's version tag (its If-Match token) names its present state: the past one is tagged by
            # its own body, as ``ConditionalGetMiddleware`` does.
            if response.has_header("ETag"):
                del response["ETag"]
        return response


# A view whose answers are only ever the present ones: ``?as_of=`` is refused (400 naming it), never ignored.
class PresentOnlyMixin:
    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if AS_OF in request.query_params:
            raise ValidationError({AS_OF: [_("This answer is only ever the present one: leave out as_of.")]})
