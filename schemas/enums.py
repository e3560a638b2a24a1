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


class UnitKind(enum.StrEnum):
    STATION = "station"  # 派出所
    SQUAD = "squad"  # 大队 / 中队
    DEPARTMENT = "department"  # 支队 / 科室
    SERVICE_HALL = "service_hall"  # 服务大厅
