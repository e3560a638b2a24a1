"""The states and kinds the tables store, as string enums (stored by value)."""

import enum


class AppealChannel(enum.StrEnum):
    PHONE = "phone"
    VOICE_MESSAGE = "voice_message"
    WEB = "web"
    LETTER = "letter"
    VISIT = "visit"
    SMS = "sms"


class AppealKind(enum.StrEnum):
    CONSULTATION = "consultation"  # 咨询
    HELP = "help"  # 求助
    COMPLAINT = "complaint"  # 投诉
    REPORT = "report"  # 举报
    APPROVAL_PROGRESS = "approval_progress"  # 办理进度
    DISPUTE = "dispute"  # 纠纷


class AppealStatus(enum.StrEnum):
    RECEIVED = "received"
    ASSIGNED = "assigned"
    IN_PROGRESS = "in_progress"
    RESOLVED = "resolved"
    CLOSED = "closed"


class Satisfaction(enum.StrEnum):
    SATISFIED = "satisfied"  # 1 满意
    BASICALLY_SATISFIED = "basically_satisfied"  # 2 基本满意
    DISSATISFIED = "dissatisfied"  # 3 不满意


class AgentRole(enum.StrEnum):
    AGENT = "agent"
    SUPERVISOR = "supervisor"
    ADMIN = "admin"
    UNIT_OFFICER = "unit_officer"  # 承办单位民警: bound to one unit, sees only its work orders


class WorkOrderStatus(enum.StrEnum):
    """A dispatch of an appeal to one unit (工单流转), hotline.appeals.lifecycle's second table."""

    DISPATCHED = "dispatched"  # 待签收: sent to the unit, not signed for yet
    SIGNED = "signed"  # 办理中: signed for, being handled
    REPLIED = "replied"  # 待审核: the unit replied (办结), the hall reviews it
    SENT_BACK = "sent_back"  # 退回重办: the hall sent the reply back with a reason
    RETURNED = "returned"  # 已退单: the unit returned it as outside its remit
    ACCEPTED = "accepted"  # 审核通过: the reply accepted, the appeal resolved
    WITHDRAWN = "withdrawn"  # 已改派: the hall re-dispatched it to another unit


class ExtensionStatus(enum.StrEnum):
    PENDING = "pending"  # 待审批
    APPROVED = "approved"
    REFUSED = "refused"
    CANCELLED = "cancelled"  # its work order left handling (replied, returned, re-dispatched)


class UnitKind(enum.StrEnum):
    STATION = "station"  # 派出所
    SQUAD = "squad"  # 大队 / 中队
    DEPARTMENT = "department"  # 支队 / 科室
    SERVICE_HALL = "service_hall"  # 服务大厅


class CallOutcome(enum.StrEnum):
    IN_PROGRESS = "in_progress"
    TO_QUEUE = "to_queue"  # handed to the agents' queue
    QUERY_ANSWERED = "query_answered"  # progress query answered by the IVR
    MESSAGE_LEFT = "message_left"  # voice message recorded
    MESSAGE_EMPTY = "message_empty"  # a recording with no audio: kept out of the work
    CALLBACK_REQUESTED = "callback_requested"  # chose a callback instead of waiting
    SURVEY_RATED = "survey_rated"
    SURVEY_NO_RATING = "survey_no_rating"
    ABANDONED = "abandoned"  # the caller hung up before an outcome
    FAILED = "failed"  # the service could not run the flow


class SmsKind(enum.StrEnum):
    APPEAL_RECEIVED = "appeal_received"
    APPEAL_RESOLVED = "appeal_resolved"
    APPEAL_DISPATCHED = "appeal_dispatched"  # 转办告知: the unit that handles it
    APPEAL_EXTENDED = "appeal_extended"  # 延期告知: the new date
    UNIT_URGED = "unit_urged"  # 催办 / 督办, to the unit's duty phone
    PROGRESS_REPLY = "progress_reply"  # the answer to a citizen's 查询 by SMS
    SURVEY = "survey"
    REMINDER_VEHICLE = "reminder_vehicle"
    REMINDER_LICENCE = "reminder_licence"
    REMINDER_IDCARD = "reminder_idcard"
    EARLY_WARNING = "early_warning"
    CALLBACK_CONFIRMATION = "callback_confirmation"
    KNOWLEDGE_GUIDE = "knowledge_guide"  # 办事指南: a knowledge article's guide, sent from the desk
    TEST = "test"


class SmsLane(enum.IntEnum):
    """Outbox priority lanes: a lower lane is always claimed first, so a bulk warning never
    starves an appeal acknowledgement."""

    SERVICE = 0  # appeal acknowledgements, resolutions, surveys, callback confirmations
    REMINDER = 1
    BULK = 2  # early-warning broadcasts


class SmsState(enum.StrEnum):
    QUEUED = "queued"
    SUBMITTED = "submitted"
    DELIVERED = "delivered"
    FAILED = "failed"
    EXPIRED = "expired"
    CANCELLED = "cancelled"
    # Accepted by the SMSC, and no final receipt by the end of its validity period: whether
    # it reached the handset nobody will say (the SMSC died, or dropped its receipts).
    UNKNOWN = "unknown"


class SmsInboundState(enum.StrEnum):
    RECEIVED = "received"  # stored, not yet handled by the message layer
    RATED = "rated"  # a survey answer recorded on its appeal
    NOTED = "noted"  # attached to the citizen's open appeal
    OPT_OUT = "opt_out"
    OPT_IN = "opt_in"
    UNMATCHED = "unmatched"  # for supervisors to read
    QUERIED = "queried"  # a 查询: answered with the appeal's progress (or a neutral reply)
