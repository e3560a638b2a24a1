"""Words of the appeal pages added with progress notes."""

WORDS: dict[str, tuple[str, str]] = {
    "appeal.add_note": ("记录", "Add"),
    "appeal.note_label": ("办理进展", "Progress note"),
    "appeal.note_from_call": ("本次来电补充", "What the caller added"),
    "card.add_to": ("补充到此诉求", "Add to this appeal"),
}
