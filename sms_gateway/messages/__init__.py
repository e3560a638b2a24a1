"""What citizens receive by SMS and what their replies do: the templates (one per kind,
signed, length-checked), the sending rules (quiet hours, opt-out, daily cap, dedupe), the
appeal messages joined to the core's create and resolve hooks, reminders (CSV import and the
planner), early-warning broadcasts, and the reply handler (survey ratings, opt-out, notes).

The outbox (`sms_gateway.outbox`) carries the messages; this package decides their content
and timing and knows nothing of SMPP.
"""
