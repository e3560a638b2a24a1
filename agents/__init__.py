"""The web application for agents at hall terminals and for supervisors."""

from agents.web import makeService  # noqa: F401
