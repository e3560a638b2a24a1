"""Words of the staffing view (坐席排班测算, 服务决策)."""

WORDS: dict[str, tuple[str, str]] = {
    "nav.staffing": ("排班测算", "Staffing"),
    "param.weeks": ("参考周数", "weeks"),
    "param.within": ("接听时限（秒）", "answer within (s)"),
    "param.target": ("服务水平目标（%）", "target (%)"),
    "param.offered": ("每小时来电量", "calls per hour"),
    "param.handle": ("平均处理时长（秒）", "handle time (s)"),
    "staffing.title": ("坐席排班测算", "Staffing"),
    "staffing.submit": ("测算", "Calculate"),
    "staffing.basis": ("测算依据：{first} 起 {weeks} 个完整周的排队来电；平均通话 {talk} 秒 + 话后处理 "
                       "{wrap} 秒 = 每通处理 {handle} 秒（{calls} 通已完成来电）；目标：{target}% 的来电在 "
                       "{within} 秒内接听（Erlang C）。",
                       "Based on the queue's calls of {weeks} complete weeks from {first}: mean "
                       "talk {talk} s + wrap-up {wrap} s = {handle} s a call ({calls} completed "
                       "calls); target: {target}% answered within {within} s (Erlang C)."),
    "staffing.no_calls": ("所选周数内没有已完成的排队来电，无法测算处理时长和所需人数。",
                          "No completed queue calls in these weeks: no handle time, no need "
                          "to calculate."),
    "staffing.forecast": ("下周预测（{first} 起）：每半小时来电量 / 所需在线坐席",
                          "Next week (from {first}): calls per half-hour / officers needed"),
    "staffing.forecast_method": ("预测方法：取前 {weeks} 个完整周同一星期、同一时段来电量的平均值（本周未结束，不计入）。",
                                 "Method: the mean of the same weekday and half-hour over the "
                                 "{weeks} complete weeks before this one (this week is left out)."),
    "staffing.review": ("上周复盘（{first} 起）：来电量 / 所需 / 实际在线坐席",
                        "Last week (from {first}): calls / needed / officers staffed"),
    "staffing.review_note": ("实际在线：已签入队列且未示忙（空闲、通话中、话后处理），按时间加权；"
                             "所需多于实际为「不足」，实际多出 {over} 人及以上为「富余」。",
                             "Staffed: logged in and not paused (available, on a call, in "
                             "wrap-up), time-weighted; fewer than needed is short, {over} or "
                             "more beyond the need is over."),
    "staffing.short_count": ("不足 {n} 个时段", "{n} half-hours short"),
    "staffing.over_count": ("富余 {n} 个时段", "{n} half-hours over"),
    "staffing.mark.short": ("不足", "short"),
    "staffing.mark.over": ("富余", "over"),
    "staffing.slot": ("时段", "Half-hour"),
    "staffing.cell_forecast": ("{offered} 通 / {needed} 人", "{offered} / {needed}"),
    "staffing.cell_review": ("{offered} / {needed} / {staffed}", "{offered} / {needed} / {staffed}"),
    "staffing.empty": ("无数据", "No data"),
    "staffing.what_if": ("试算", "What if"),
    "staffing.what_if_result": ("每小时 {offered} 通、每通 {handle} 秒：需要在线坐席 {officers} 人，"
                                "服务水平 {level}%，来电需等待的概率 {waits}%，平均等待 {wait} 秒，"
                                "坐席占用率 {occupancy}%。",
                                "{offered} calls an hour of {handle} s: {officers} officers, "
                                "service level {level}%, {waits}% wait, {wait} s average wait, "
                                "{occupancy}% occupancy."),
    "staffing.weekday.0": ("周一", "Mon"),
    "staffing.weekday.1": ("周二", "Tue"),
    "staffing.weekday.2": ("周三", "Wed"),
    "staffing.weekday.3": ("周四", "Thu"),
    "staffing.weekday.4": ("周五", "Fri"),
    "staffing.weekday.5": ("周六", "Sat"),
    "staffing.weekday.6": ("周日", "Sun"),
}
