"""The one error of the knowledge base: its message, in Chinese, is shown to the editor as
it is (a form, an import row, the command line)."""


class KnowledgeError(ValueError):
    pass
