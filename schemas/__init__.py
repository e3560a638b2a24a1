"""SQLAlchemy models, state enums and the Alembic migrations of the hotline's database."""

from schemas.base import Base  # noqa: F401
from schemas import models  # noqa: F401  (registers the tables on Base.metadata)
