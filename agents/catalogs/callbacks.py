"""Words of the callback worklist's refusals and of the outcome form's attempt, and the
compliance report's count of callbacks completed with no call placed."""

WORDS: dict[str, tuple[str, str]] = {
    "callbacks.not_found": ("回访任务 {task_id} 不存在，或不在您的回访列表中",
                            "Callback {task_id} does not exist or is not on your list"),
    "callbacks.busy": ("该回访任务正由其他坐席或系统拨打，请稍后刷新",
                       "Someone else is calling this citizen back; reload in a while"),
    "callbacks.too_soon": ("距上次回访时间过短，下次可回访时间：{at}",
                           "Too soon after the last attempt; the next is due at {at}"),
    "callbacks.stale": ("该次回访结果已由他人登记或页面已过期，请刷新后重试",
                        "That attempt was recorded by someone else or the page is out of date; reload"),
    "callbacks.already_recorded": ("该次回访结果此前已保存，未重复登记",
                                   "That outcome was saved already; it was not recorded again"),
    # What a refusal of the outcome form calls each field (its name follows in brackets).
    "param.reached": ("是否联系上", "Reached"),
    "param.rating": ("评价", "Rating"),
    "param.reason": ("理由", "Reason"),
    "param.attempt": ("回访次序", "Attempt"),
    "callbacks.calling_now": ("通话中", "On the call"),
    "report.col.reached_without_call": ("其中未经系统拨号", "Of which no call placed"),
}
