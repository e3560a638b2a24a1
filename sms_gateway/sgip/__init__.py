"""SGIP 1.2 (China Unicom's SMG) adapter of the SMS link: framing and codec so far; the SP's
two sides (binding to the SMG to submit, listening for the SMG's binds that deliver replies
and reports), the link and a simulator are still to come."""
