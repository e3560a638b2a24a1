"""Channel variables the flows set for the dialplan and the agents' screens."""

CALL_ID = "HOTLINE_CALL_ID"  # our call record's id: the screen pop matches on it
MENU_CHOICE = "HOTLINE_MENU_CHOICE"  # consultation / help / complaint / approval_progress / agent
OPEN_APPEAL = "HOTLINE_OPEN_APPEAL"  # the caller's open appeal's case number, if any
OUTCOME = "HOTLINE_OUTCOME"
