"""Words of the appeal pages added with progress notes."""

WORDS: dict[str, tuple[str, str]] = {
    "appeal.add_note": ("记录", "Add"),
    "appeal.choose_unit": ("请选择承办单位", "Choose a unit"),
    "appeal.reassign": ("改为交办", "Assign elsewhere"),
    "appeal.correct": ("更正诉求信息", "Correct the appeal"),
    "appeal.correct_save": ("保存更正", "Save the correction"),
    "appeal.reopen_count": ("重办次数", "Times reopened"),
    "appeal.old_resolution": ("上次办理结果（已重新办理）", "Earlier resolution (reopened)"),
    "appeal.field.kind": ("诉求类别", "Kind"),
    "appeal.note_label": ("办理进展", "Progress note"),
    "appeal.note_from_call": ("本次来电补充", "What the caller added"),
    "card.add_to": ("补充到此诉求", "Add to this appeal"),
}
