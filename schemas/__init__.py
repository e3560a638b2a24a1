"""SQLAlchemy models, state enums and the Alembic migrations of the hotline's database."""

from schemas.base import Base  # noqa: F401
from schemas import models, calls, sms  # noqa: F401  (register the tables on Base.metadata)
from schemas import callbacks  # noqa: F401
from schemas import messaging  # noqa: F401
from schemas import live  # noqa: F401
from schemas import analysis  # noqa: F401
from schemas import calendar  # noqa: F401
