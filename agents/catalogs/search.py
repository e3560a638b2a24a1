"""Words of the appeal search's pages of results."""

WORDS: dict[str, tuple[str, str]] = {
    "search.count": ("共 {count} 条，第 {first}–{last} 条", "{count} found, {first}–{last} shown"),
    "search.count_capped": ("超过 {count} 条，第 {first}–{last} 条（请缩小查询范围）",
                            "More than {count} found, {first}–{last} shown (narrow the search)"),
    "search.page": ("第 {page} / {pages} 页", "Page {page} of {pages}"),
    "search.previous": ("上一页", "Previous"),
    "search.next": ("下一页", "Next"),
}
