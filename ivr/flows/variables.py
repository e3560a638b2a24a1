"""Channel variables the flows set for the dialplan and the agents' screens."""

# The screen pop reads the call id too, so its name lives in the core.
from hotline.channel_variables import CALL_ID as CALL_ID

MENU_CHOICE = "HOTLINE_MENU_CHOICE"  # consultation / help / complaint / approval_progress / agent
OPEN_APPEAL = "HOTLINE_OPEN_APPEAL"  # the caller's open appeal's case number, if any
OUTCOME = "HOTLINE_OUTCOME"
