"""The AMI exception tree: every failure the manager link can report to a caller."""


class AMIError(Exception):
    """Base of every error raised by the AMI client."""


class AMIConnectionLost(AMIError):
    """The link went away while an action was waiting for its answer."""


class AMIProtocolError(AMIConnectionLost):
    """The link was dropped because the peer sent bytes that are not the manager protocol
    (garbage, an oversize message, a bad banner)."""


class AMINotConnected(AMIError):
    """No logged-in manager connection became available in the time allowed."""


class AMIAuthenticationError(AMIError):
    """Asterisk refused the Login (wrong user or secret, or MD5 challenge refused)."""

    def __init__(self, username: str, message: str):
        super().__init__(f"AMI login refused for user {username!r}: {message}")
        self.username = username
        self.message = message


class AMIActionError(AMIError):
    """Asterisk answered an action with ``Response: Error``."""

    def __init__(self, action: str, message: str, response=None):
        super().__init__(f"AMI action {action} failed: {message}")
        self.action = action
        self.message = message
        self.response = response


class AMIUnexpectedResponse(AMIError):
    """Asterisk answered an action with something other than the answer it has: a list
    action's Success without its event list, for one."""

    def __init__(self, action: str, what: str, response=None):
        super().__init__(f"AMI action {action} got {what}")
        self.action = action
        self.what = what
        self.response = response


class AMITimeout(AMIError):
    """An answer did not arrive in the time allowed."""


class AMIActionTimeout(AMITimeout):
    """No ``Response`` (or, ``listed``, no end of its event list) for an action in time."""

    def __init__(self, action: str, action_id: str, seconds: float, *, listed: bool = False):
        what = "end of the event list" if listed else "response"
        super().__init__(f"no {what} to AMI action {action} ({action_id}) within {seconds}s")
        self.action = action
        self.action_id = action_id
        self.seconds = seconds
        self.listed = listed


class OriginateTimeout(AMITimeout):
    """Asterisk queued an Originate but its OriginateResponse event never came in time."""

    def __init__(self, action_id: str, seconds: float):
        super().__init__(f"no OriginateResponse for {action_id} within {seconds}s")
        self.action_id = action_id
        self.seconds = seconds
