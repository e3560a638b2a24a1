"""SQLAlchemy models, state enums and the Alembic migrations of the hotline's database."""

from schemas import (  # noqa: F401  (register the tables on Base.metadata)
    analysis,  # noqa: F401
    calendar,  # noqa: F401
    callbacks,  # noqa: F401
    calls,
    knowledge,  # noqa: F401
    live,  # noqa: F401
    messaging,  # noqa: F401
    models,
    recordings,  # noqa: F401
    sms,
)
from schemas.base import Base  # noqa: F401
