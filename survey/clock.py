"""Beijing time: the one clock every date and time the platform shows or stores is read on."""

from datetime import UTC, date, datetime, timedelta, timezone

BEIJING = timezone(timedelta(hours=8), "北京时间")


def now() -> datetime:
    """The current moment in Beijing time."""
    return datetime.now(BEIJING)


def today() -> date:
    """Today's date in Beijing, whatever the server's own time zone."""
    return now().date()


def in_beijing(moment: datetime) -> datetime:
    """A stored moment shown in Beijing time; naive values are taken as UTC (as stored)."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(BEIJING)
