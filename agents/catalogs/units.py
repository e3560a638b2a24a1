"""Words of the work orders: the unit officers' pages, the hall's dispatch and review, the
supervisors' extension decisions."""

WORDS: dict[str, tuple[str, str]] = {
    "role.unit_officer": ("承办单位民警", "Unit officer"),
    "admin.error.unit_required": ("承办单位民警须指定所属单位", "A unit officer needs a unit"),
    "admin.error.unit_inactive": ("单位 {unit} 已停用，不能指定承办单位民警",
                                  "Unit {unit} is inactive: no unit officer for it"),
}
