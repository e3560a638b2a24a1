"""The interface's words in Simplified Chinese (the default) and English.

The language is the `hotline_lang` cookie when set (the toggle in the header), else the
browser's Accept-Language when it prefers English, else Chinese.

The words of the core pages are here; each area of work may keep its own in a module of
`agents.catalogs` (a `WORDS` dict of the same shape), merged in at import. A key defined
twice is an error at start-up, not a silent overwrite.
"""

from __future__ import annotations

import importlib
import pkgutil

from agents import catalogs

LANGUAGES = ("zh", "en")
LANG_COOKIE = "hotline_lang"

CORE_WORDS: dict[str, tuple[str, str]] = {
    "app.title": ("9600110 民生服务热线", "9600110 service hotline"),
    "nav.terminal": ("坐席终端", "Terminal"),
    "nav.appeals": ("诉求查询", "Appeals"),
    "nav.new_appeal": ("新建诉求", "New appeal"),
    "nav.agents": ("坐席管理", "Agents"),
    "nav.callbacks": ("回访任务", "Callbacks"),
    "nav.alerts": ("预警提醒", "Alerts"),
    "nav.replies": ("未匹配短信", "Unmatched SMS"),
    "nav.callbacks_report": ("回访统计", "Callback report"),
    "nav.logout": ("退出", "Log out"),
    "nav.language": ("English", "中文"),
    "login.title": ("坐席登录", "Agent login"),
    "login.username": ("用户名", "Username"),
    "login.password": ("密码", "Password"),
    "login.submit": ("登录", "Log in"),
    "login.failed": ("用户名或密码错误", "Wrong username or password"),
    "login.locked": ("登录失败次数过多，账号已锁定至 {until}；如需提前解锁，请联系系统管理员",
                     "Too many failed logins; locked until {until}. An administrator can "
                     "unlock it sooner"),
    "login.throttled": ("登录尝试过于频繁，请稍后再试", "Too many login attempts; try again shortly"),
    "error.csrf": ("请求已失效，请刷新页面后重试", "The form expired; reload the page and try again"),
    "error.forbidden": ("无权访问此页面", "You may not open this page"),
    "error.not_found": ("未找到", "Not found"),
    "search.title": ("诉求查询", "Search appeals"),
    "search.submit": ("查询", "Search"),
    "search.none": ("没有符合条件的诉求", "No appeal matches"),
    "field.case_number": ("工单编号", "Case number"),
    "field.phone": ("电话", "Phone"),
    "field.status": ("状态", "Status"),
    "field.unit": ("承办单位", "Unit"),
    "field.date_from": ("起始日期", "From"),
    "field.date_to": ("截止日期", "To"),
    "field.kind": ("类型", "Kind"),
    "field.channel": ("渠道", "Channel"),
    "field.subject": ("事由", "Subject"),
    "field.body": ("详细内容", "Details"),
    "field.name": ("姓名", "Name"),
    "field.area": ("乡镇/街道", "Area"),
    "field.created_at": ("受理时间", "Received"),
    "field.deadline": ("办理时限", "Due"),
    "field.resolution": ("办理结果", "Resolution"),
    "field.satisfaction": ("满意度", "Rating"),
    "field.reason": ("原因", "Reason"),
    "field.any": ("全部", "Any"),
    "appeal.create": ("提交诉求", "Create appeal"),
    "appeal.created": ("已受理，工单编号 {case_number}", "Received as case {case_number}"),
    "appeal.assign": ("交办", "Assign"),
    "appeal.start": ("开始办理", "Start"),
    "appeal.resolve": ("办结", "Resolve"),
    "appeal.reopen": ("重新办理", "Reopen"),
    "appeal.trail": ("办理记录", "Audit trail"),
    "appeal.rejected": ("操作未执行：{error}", "Not done: {error}"),
    "trail.at": ("时间", "When"),
    "trail.actor": ("操作人", "Who"),
    "trail.action": ("操作", "Action"),
    "trail.states": ("状态变化", "From → to"),
    "trail.note": ("备注", "Note"),
    "card.title": ("来电人信息", "Caller"),
    "card.menu_choice": ("语音导航选择", "IVR choice"),
    "card.open_appeals": ("在办诉求", "Open appeals"),
    "card.past_appeals": ("历史诉求", "Past appeals"),
    "card.calls": ("近期来电", "Recent calls"),
    "card.sms": ("短信往来", "SMS"),
    "card.ratings": ("历次评价", "Past ratings"),
    "card.new_appeal": ("据此来电新建诉求", "New appeal from this call"),
    "card.none": ("无", "None"),
    "card.waiting": ("等待来电…", "Waiting for a call…"),
    "terminal.title": ("坐席终端", "Terminal"),
    "terminal.interface": ("分机", "Interface"),
    "terminal.state": ("队列状态", "Queue state"),
    "terminal.login": ("签入", "Log in to queue"),
    "terminal.pause": ("示忙", "Pause"),
    "terminal.unpause": ("示闲", "Resume"),
    "terminal.logout": ("签出", "Log out of queue"),
    "terminal.no_interface": ("未配置分机，无法签入队列", "No interface configured; cannot join the queue"),
    "terminal.ami_down": ("与交换机的连接中断：{error}", "No link to Asterisk: {error}"),
    "state.unknown": ("未知", "Unknown"),
    "state.logged_out": ("未签入", "Logged out"),
    "state.available": ("空闲", "Available"),
    "state.paused": ("示忙", "Paused"),
    "state.on_call": ("通话中", "On a call"),
    "state.wrap_up": ("话后处理", "Wrap-up"),
    "agents.title": ("坐席管理", "Agents"),
    "agents.username": ("用户名", "Username"),
    "agents.display_name": ("姓名", "Name"),
    "agents.role": ("角色", "Role"),
    "agents.active": ("启用", "Active"),
    "status.received": ("已受理", "Received"),
    "status.assigned": ("已交办", "Assigned"),
    "status.in_progress": ("办理中", "In progress"),
    "status.resolved": ("已办结", "Resolved"),
    "status.closed": ("已关闭", "Closed"),
    "kind.consultation": ("咨询", "Consultation"),
    "kind.help": ("求助", "Help"),
    "kind.complaint": ("投诉", "Complaint"),
    "kind.report": ("举报", "Report"),
    "kind.approval_progress": ("办理进度", "Approval progress"),
    "kind.dispute": ("纠纷", "Dispute"),
    "kind.agent": ("转人工", "Agent"),
    "channel.phone": ("电话", "Phone"),
    "channel.voice_message": ("语音留言", "Voice message"),
    "channel.web": ("网站", "Web"),
    "channel.letter": ("来信", "Letter"),
    "channel.visit": ("来访", "Visit"),
    "channel.sms": ("短信", "SMS"),
    "satisfaction.satisfied": ("满意", "Satisfied"),
    "satisfaction.basically_satisfied": ("基本满意", "Basically satisfied"),
    "satisfaction.dissatisfied": ("不满意", "Dissatisfied"),
    "role.agent": ("坐席", "Agent"),
    "role.supervisor": ("班长", "Supervisor"),
    "role.admin": ("管理员", "Administrator"),
    "alerts.title": ("待处理预警", "Open alerts"),
    "alerts.none": ("没有待处理的预警", "No open alerts"),
    "alerts.at": ("时间", "When"),
    "alerts.kind": ("类型", "Kind"),
    "alerts.source": ("来源", "Source"),
    "alerts.note": ("说明", "Note"),
    "alerts.ack": ("已阅", "Acknowledge"),
    "alerts.gone": ("该预警已被处理或不存在", "That alert was already acknowledged or does not exist"),
    "replies.title": ("未匹配的短信回复", "Unmatched SMS replies"),
    "replies.none": ("没有未匹配的短信回复", "No unmatched replies"),
    "replies.received_at": ("接收时间", "Received"),
    "replies.text": ("短信内容", "Text"),
    "report.title": ("回访情况统计", "Callback compliance"),
    "report.by": ("统计维度", "By"),
    "report.by.unit": ("单位", "Unit"),
    "report.by.agent": ("坐席", "Agent"),
    "report.by.kind": ("诉求类型", "Kind"),
    "report.submit": ("统计", "Show"),
    "report.csv": ("导出 CSV", "Download CSV"),
    "report.none": ("该时段没有回访数据", "No callbacks in this period"),
    "report.unavailable": ("回访统计在本系统中不可用", "The callback report is not available here"),
    "report.bad": ("查询条件有误：{error}", "Check the form: {error}"),
    "report.col.resolved": ("办结数", "Resolved"),
    "report.col.due": ("应回访数", "Due"),
    "report.col.within": ("按时完成", "On time"),
    "report.col.late": ("超时完成", "Late"),
    "report.col.unreachable": ("无法联系", "Unreachable"),
    "report.col.sms_fallback": ("其中转短信评价", "Of which by SMS"),
    "report.col.pending": ("未完成", "Pending"),
    "report.col.not_due": ("未到期", "Not yet due"),
    "report.col.attempts_per_completed": ("每次完成回访拨打次数", "Calls per completed"),
    "report.col.satisfied": ("满意", "Satisfied"),
    "report.col.basically_satisfied": ("基本满意", "Basically satisfied"),
    "report.col.dissatisfied": ("不满意", "Dissatisfied"),
    "report.col.unrated": ("未评价", "Unrated"),
    "report.col.compliance": ("按时回访率", "On-time rate"),
    "callbacks.title": ("我的回访与回电任务", "My callbacks and return calls"),
    "callbacks.none": ("暂无待回访任务", "No callbacks to make"),
    "callbacks.unavailable": ("回访队列在本系统中不可用", "The callback queue is not available here"),
    "callbacks.origin": ("来源", "Origin"),
    "callbacks.window": ("可回访时间", "From"),
    "callbacks.due": ("回访时限", "Due"),
    "callbacks.overdue": ("已超期", "Overdue"),
    "callbacks.attempts": ("已拨次数", "Attempts"),
    "callbacks.mine": ("本人受理", "Mine"),
    "callbacks.call": ("拨打", "Call"),
    "callbacks.reached": ("是否联系上", "Reached"),
    "callbacks.rating": ("评价", "Rating"),
    "callbacks.no_rating": ("未评价", "No rating"),
    "callbacks.save": ("保存结果", "Save outcome"),
    "callbacks.calling": ("您的话机已接通，正在呼叫市民", "Your phone answered; calling the citizen"),
    "callbacks.not_rung": ("您的话机未接听，未能发起回访，请重试", "Your phone did not answer; the call was not placed, try again"),
    "callbacks.no_ami": ("与交换机的连接中断，无法发起回访", "No link to Asterisk: the call cannot be placed"),
    "callbacks.recorded": ("回访结果已保存", "Outcome saved"),
    "callbacks.rejected": ("操作未执行：{error}", "Not done: {error}"),
    "origin.resolution": ("办结回访", "After resolution"),
    "origin.ivr_callback_request": ("来电预约回呼", "Callback requested"),
    "origin.voice_message": ("语音留言", "Voice message"),
    "alert.kind.dissatisfied": ("不满意评价", "Dissatisfied rating"),
    "yes": ("是", "Yes"),
    "no": ("否", "No"),
}



def _merged() -> dict[str, tuple[str, str]]:
    words = dict(CORE_WORDS)
    for module in sorted(m.name for m in pkgutil.iter_modules(catalogs.__path__)):
        extra = importlib.import_module(f"{catalogs.__name__}.{module}").WORDS
        twice = sorted(words.keys() & extra.keys())
        if twice:
            raise ValueError(f"agents.catalogs.{module} defines words already defined: "
                             f"{', '.join(twice)}")
        words.update(extra)
    return words


MESSAGES: dict[str, tuple[str, str]] = _merged()


def translator(lang: str):
    index = LANGUAGES.index(lang) if lang in LANGUAGES else 0

    def t(key: str, **values: object) -> str:
        pair = MESSAGES.get(key)
        text = pair[index] if pair else key
        return text.format(**values) if values else text

    return t


def choose_language(cookies: dict[str, str], headers: dict[str, str]) -> str:
    chosen = cookies.get(LANG_COOKIE)
    if chosen in LANGUAGES:
        return chosen
    for part in headers.get("accept-language", "").split(","):
        tag = part.split(";")[0].strip().lower()
        if tag.startswith("zh"):
            return "zh"
        if tag.startswith("en"):
            return "en"
    return "zh"
