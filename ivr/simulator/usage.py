"""Usage texts Asterisk 23.4.1 sends in a `520-` block, byte for byte from the golden transcripts.

Commands without a recorded text get Asterisk's one-line form for an empty usage:
`520 Invalid command syntax.  Proper usage not available.`
"""

USAGE: dict[str, str] = {
    "stream file": (
        "Send the given file, allowing playback to be interrupted by the given digits, if any."
        " Returns <literal>0</literal> if playback completes without a digit being pressed, or"
        " the ASCII numerical value of the digit if one was pressed, or <literal>-1</literal> on"
        " error or if the channel was disconnected. If musiconhold is playing before calling"
        " stream file it will be automatically stopped and will not be restarted after"
        " completion.\n"
        "It sets the following channel variables upon completion:\n"
        "<variable>PLAYBACKSTATUS</variable>: The status of the playback attempt as a text string.\n"
        "    <value>SUCCESS</value>\n"
        "    <value>FAILED</value>\n"
    ),
    "get data": (
        "Stream the given <replaceable>file</replaceable>, and receive DTMF data.\n"
        "Returns the digits received from the channel at the other end.\n"
    ),
    "wait for digit": (
        "Waits up to <replaceable>timeout</replaceable> milliseconds for channel to receive a"
        " DTMF digit. Returns <literal>-1</literal> on channel failure, <literal>0</literal> if"
        " no digit is received in the timeout, or the numerical value of the ascii of the digit"
        " if one is received. Use <literal>-1</literal> for the <replaceable>timeout</replaceable>"
        " value if you desire the call to block indefinitely.\n"
    ),
}


def usage_block(command: str) -> str:
    text = USAGE.get(command)
    if not text:
        return "520 Invalid command syntax.  Proper usage not available.\n"
    return (
        "520-Invalid command syntax.  Proper usage follows:\n" + text + "520 End of proper usage.\n"
    )
