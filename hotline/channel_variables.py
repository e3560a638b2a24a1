"""Channel variables that more than one package names: the IVR sets them on a call (AGI
``SET VARIABLE``), and the agents' side reads them back from the AMI events Asterisk sends
(`ChanVariable`, for the variables manager.conf lists in ``channelvars``).

They meet here, in the core, because the packages never import each other: a name spelt
two ways would break the screen pop with nothing failing. Variables only the dialplan
reads stay with the IVR's flows (`ivr.flows.variables`).
"""

CALL_ID = "HOTLINE_CALL_ID"  # our call record's id: the agent's screen pop matches on it
