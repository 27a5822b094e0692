"""The two kinds of failure an operator must tell apart at a glance.

A ConfigError is fixed by changing a setting; a DataError by fixing or quarantining input.
Neither is worth a retry, which is why retry conditions look for these types.
"""


class PdbiError(Exception):
    """Base class: its message is written for an operator, one sentence, no stack trace needed."""


class ConfigError(PdbiError):
    """A setting is wrong or a prerequisite is missing; the message names setting and fix."""


class DataError(PdbiError):
    """Input cannot be used as it is; the message names the file and, where known, the row."""
