from celery import shared_task

from . import services


@shared_task(name="indicators.refresh_statuses", acks_late=True, soft_time_limit=25 * 60, time_limit=30 * 60)
def refresh_statuses() -> int:
    """Daily: mark the indicators whose status the calendar changed, for mirrors kept with ``updated_since``."""
    return services.indicator_statuses_refresh()
