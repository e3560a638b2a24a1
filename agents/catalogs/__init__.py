"""Words of the interface by area of work (see `agents.i18n`): each module a `WORDS`
dict of key -> (Simplified Chinese, English)."""
