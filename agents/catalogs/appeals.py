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
    # 重复件: merging a duplicate into the caller's open appeal.
    "merge.title": ("合并为重复件", "Merge as a duplicate"),
    "merge.into": ("并入诉求", "Into appeal"),
    "merge.choose": ("请选择该来电人在办的诉求", "Choose one of the caller's open appeals"),
    "merge.none": ("该来电人没有其他在办诉求；可输入其他诉求的编号", "The caller has no other "
                   "open appeal; give another appeal's case number"),
    "merge.case_number": ("或输入诉求编号", "Or its case number"),
    "merge.reason": ("合并原因", "Why"),
    "merge.confirm_other": ("确认合并至其他来电号码的诉求", "Merge into another caller's "
                            "appeal"),
    "merge.submit": ("合并为重复件", "Merge"),
    "merge.merged_into": ("已作为重复件并入", "Merged as a duplicate into"),
    "merge.duplicates": ("并入的重复件", "Duplicates merged in"),
    "merge.done": ("已合并为重复件，来电与短信已转入 {case_number}",
                   "Merged: its calls and SMS are on {case_number} now"),
    "merge.unknown_case": ("没有编号为 {case_number} 的诉求", "No appeal {case_number}"),
    "merge.choose_one": ("请选择或输入要并入的诉求", "Choose the appeal to merge into"),
    "merge.refused.self": ("不能把诉求合并到它自己", "An appeal is not merged into itself"),
    "merge.refused.into_closed": ("诉求 {case_number} 已办结或关闭，不能并入",
                                  "{case_number} is resolved or closed"),
    "merge.refused.into_merged": ("诉求 {case_number} 本身已作为重复件并入其他诉求，请并入其"
                                  "所并入的诉求", "{case_number} was merged itself: merge "
                                  "into the one it joined"),
    "merge.refused.other_phone": ("诉求 {case_number} 的来电号码不同；确属同一群众同一事项的，"
                                  "请勾选确认后再合并", "{case_number} is another number's: "
                                  "confirm to merge"),
    "merge.refused.reply_pending": ("本诉求有承办单位的回复待审核，请先审核后再合并",
                                    "A unit's reply awaits review: review it first"),
}
