"""Who sees and does what with indicators (績效指標): every signed-in user reads every indicator with its
targets and actuals; only the Executive Secretariat records a plan- or group-level actual (a sub-project's
come from its accepted reports). Predicates as in ``accounts.access``."""

from __future__ import annotations

import rules
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from accounts.access import is_signed_in, oversees
from gstp.history import rows

from .models import Indicator, IndicatorActual

NOT_SECRETARIAT_TO_RECORD_ACTUALS = _("Only the Executive Secretariat records plan- and group-level actuals.")


def indicators_for(user, *, as_of=None) -> QuerySet[Indicator]:
    indicators = rows(Indicator, as_of)
    return indicators if is_signed_in(user) else indicators.none()


def indicator_actuals_for(user) -> QuerySet[IndicatorActual]:
    return IndicatorActual.objects.filter(indicator__in=indicators_for(user))


can_record_actual = oversees  # (user, indicator)

rules.add_perm("indicators.record_actual", can_record_actual)
