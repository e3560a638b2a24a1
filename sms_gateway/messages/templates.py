"""What each kind of message says: one Jinja2 template per `SmsKind`, in Simplified Chinese,
signed from the configuration and checked against the longest message allowed.

Templates are `templates/<kind>.txt.j2`; a site overrides one by putting a file of the same
name in `[messages] templates_dir`. Lines are joined without a separator (Chinese text has
no spaces between clauses), so a template may be wrapped for reading. A missing field is an
error, never an empty gap in a citizen's message.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import jinja2

from schemas.enums import SmsKind
from sms_gateway.encoding import UCS2_PART_LIMIT, count_parts
from sms_gateway.messages.config import MessagesConfig

SHIPPED = Path(__file__).resolve().parent / "templates"
TEMPLATED_KINDS = tuple(kind for kind in SmsKind if kind is not SmsKind.TEST)
# UTF-16 units a part surely holds: 67 per UCS2 part, less one when a surrogate pair would
# straddle the boundary; a GSM text fits its 153 septets per part in fewer parts still.
SURELY_FITS_UNITS = UCS2_PART_LIMIT - 1


class MessageError(ValueError):
    """A message cannot be built (a template fails, or renders too long)."""


class TemplateFieldMissing(MessageError):
    pass


class MessageTooLong(MessageError):
    def __init__(self, kind: SmsKind, parts: int, max_parts: int, text: str) -> None:
        super().__init__(f"the {kind.value} message takes {parts} SMS parts, more than the "
                         f"{max_parts} allowed ({len(text)} characters)")
        self.kind, self.parts, self.max_parts, self.text = kind, parts, max_parts, text


def cn_date(value: dt.date | dt.datetime, zone=None) -> str:
    """2026年12月28日 (a datetime is read in the rules' zone first)."""
    if isinstance(value, dt.datetime):
        value = value.astimezone(zone).date() if zone else value.date()
    return f"{value.year}年{value.month}月{value.day}日"


def shorten(text: str | None, limit: int) -> str:
    text = " ".join((text or "").split())
    return text if len(text) <= limit else text[:limit - 1] + "…"


def sentence(text: str | None) -> str:
    """End a clause with a full stop unless it already ends with punctuation."""
    text = (text or "").strip()
    return text if not text or text[-1] in "。！？!?.；;…" else text + "。"


class Templates:
    def __init__(self, config: MessagesConfig, *, hotline_number: str = "9600110",
                 zone=None) -> None:
        self.config = config
        self.hotline_number = hotline_number
        directories = [config.templates_dir] if config.templates_dir else []
        self._env = jinja2.Environment(
            loader=jinja2.FileSystemLoader([*directories, str(SHIPPED)], encoding="utf-8"),
            undefined=jinja2.StrictUndefined, autoescape=False, keep_trailing_newline=False)
        self._env.filters["cn_date"] = lambda value: cn_date(value, zone)
        self._env.filters["shorten"] = shorten
        self._env.filters["sentence"] = sentence

    def render(self, kind: SmsKind, **fields) -> str:
        """The signed text of a message; raises `MessageError` (field missing, too long)."""
        try:
            template = self._env.get_template(f"{kind.value}.txt.j2")
            body = template.render(hotline=self.hotline_number, **fields)
        except jinja2.UndefinedError as error:
            raise TemplateFieldMissing(f"the {kind.value} template: {error}") from None
        except jinja2.TemplateError as error:
            raise MessageError(f"the {kind.value} template: {error}") from None
        text = self.config.signature + "".join(line.strip() for line in body.splitlines())
        if len(text.encode("utf-16-le")) // 2 <= SURELY_FITS_UNITS * self.config.max_parts:
            return text  # the planner renders thousands a second: skip the exact count
        _, parts = count_parts(text)
        if parts > self.config.max_parts:
            raise MessageTooLong(kind, parts, self.config.max_parts, text)
        return text

    def source_of(self, kind: SmsKind) -> str:
        """Where a kind's template is read from (an override or the shipped file)."""
        source, filename, _ = self._env.loader.get_source(self._env, f"{kind.value}.txt.j2")
        return filename
