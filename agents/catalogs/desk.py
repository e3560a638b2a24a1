"""The hall officer's desk: a submission refused for a lost session or a stale form (what
was typed is kept), drafts put back, and the current call on every page."""

WORDS = {
    "lost.title_401": ("登录已过期", "Your session has ended"),
    "lost.title_403": ("页面已过期", "This page has expired"),
    "lost.reason_401": ("登录已过期或已退出，刚才提交的内容没有保存。",
                        "Your session ended or you logged out: what you submitted was not saved."),
    "lost.reason_403": ("页面已过期（例如已在别处重新登录），刚才提交的内容没有保存。",
                        "The page expired (for example after logging in again elsewhere): "
                        "what you submitted was not saved."),
    "lost.kept": ("您填写的内容仍保留在本浏览器中，回到原页面后会自动填回，请核对后再提交。",
                  "What you typed is kept in this browser and filled in again on the page; "
                  "check it and submit again."),
    "lost.login": ("重新登录并返回原页面", "Log in and go back to the page"),
    "lost.back": ("返回原页面", "Back to the page"),
    "draft.restored": ("已恢复上次未提交的内容，请核对后提交",
                       "Restored what was not submitted; check it and submit"),
    "callbar.label": ("当前通话", "Current call"),
    "callbar.none": ("无通话", "No call"),
    "callbar.since": ("通话 {duration}", "On the call {duration}"),
    "callbar.open_card": ("查看来电人信息", "Show the caller"),
    "callbar.close_card": ("收起", "Hide"),
    "callbar.sound": ("来电提示音", "Sound on a call"),
    "callbar.notify": ("桌面通知", "Desktop notification"),
    "callbar.flash": ("【新来电】", "[New call] "),
    "callbar.notification": ("新来电：{caller}", "New call: {caller}"),
    "callbar.feed_down": ("实时连接中断，正在重连…", "Live feed down; reconnecting…"),
}
