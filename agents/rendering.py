"""HTML from Jinja2 templates with autoescape on, loaded into memory when the application
is built (the reactor thread reads no files)."""

from __future__ import annotations

import datetime as dt
from importlib import resources
from zoneinfo import ZoneInfo

from jinja2 import DictLoader, Environment, StrictUndefined, select_autoescape

from agents.i18n import translator
from hotline.masking import mask_phone
from schemas.enums import AppealKind

TEMPLATE_PACKAGE = "agents"


def _files(folder: str) -> dict[str, bytes]:
    root = resources.files(TEMPLATE_PACKAGE).joinpath(folder)
    return {entry.name: entry.read_bytes() for entry in root.iterdir() if entry.is_file()}


def load_static() -> dict[str, bytes]:
    return _files("static")


class Renderer:
    def __init__(self, zone: ZoneInfo) -> None:
        templates = {name: data.decode("utf-8") for name, data in _files("templates").items()}
        self.env = Environment(loader=DictLoader(templates),
                               autoescape=select_autoescape(default=True, default_for_string=True),
                               undefined=StrictUndefined, trim_blocks=False)
        self.env.filters["local"] = lambda value: _local(value, zone)
        self.env.filters["masked"] = mask_phone
        # The kinds of appeal, for forms that appear inside other pages (the caller's card).
        self.env.globals["appeal_kinds"] = [k.value for k in AppealKind]
        # Parse every template now, so that a broken one stops start-up, not a request.
        for name in templates:
            self.env.get_template(name)

    def render(self, name: str, *, lang: str, **values: object) -> bytes:
        template = self.env.get_template(name)
        values.setdefault("error", None)
        values.setdefault("notice", None)
        return template.render(t=translator(lang), lang=lang, **values).encode("utf-8")


def _local(value: dt.datetime | None, zone: ZoneInfo) -> str:
    if value is None:
        return ""
    return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
