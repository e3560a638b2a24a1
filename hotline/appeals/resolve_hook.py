"""The resolve hook: what must happen when an appeal is resolved happens in the same
transaction as the resolution. (The same hook type serves as the create hook: the "appeal
received" SMS is queued in the transaction that opens the appeal.)

The callback queue registers a participant that inserts the follow-up call task; the SMS
layer one that queues the "resolved" message. A participant gets the open session and the
resolved appeal and adds rows; if any participant raises, the whole resolution rolls back,
so an appeal is never resolved without its callback and message (`hotline.hooks`).
"""

from __future__ import annotations

from hotline.appeals.records import AppealRecord
from hotline.hooks import TransactionHook

# fn(session, appeal): the appeal as it stands after the change, in its transaction.
ResolveHook = TransactionHook[[AppealRecord]]
