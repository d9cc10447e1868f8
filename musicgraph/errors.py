"""The one root exception type of MusicGraph and its subclasses.

Every failure that a user can cause or fix (bad input, a database that can't be
reached, a missing model) is raised as a :class:`MusicGraphError`. The CLI turns it
into one line on stderr and a non-zero exit; the Flask app maps it to an HTTP status
in one place. Anything else is a bug and keeps its traceback.
"""

from __future__ import annotations


class MusicGraphError(Exception):
    """Root of every expected MusicGraph failure.

    Attributes:
        http_status: the status the web app answers with for this error.
        exit_code: the process exit status the CLI uses for this error.
    """

    http_status = 500
    exit_code = 1

    def __init__(self, message: str, detail: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.detail = detail


class InputError(MusicGraphError):
    """Input that can't be used: a bad file, a bad option, a bad request parameter."""

    http_status = 400
    exit_code = 2


class NotFoundError(MusicGraphError):
    """Something named by the caller does not exist (a song id, a file)."""

    http_status = 404
    exit_code = 2


class DatabaseUnavailableError(MusicGraphError):
    """Neo4j can't be reached or isn't ready (no embeddings, index not online)."""

    http_status = 503
    exit_code = 3


class ServerError(MusicGraphError):
    """The local Neo4j server could not be provisioned, started or stopped."""

    exit_code = 4


class ModelError(MusicGraphError):
    """Training or embedding failed, or no trained model is available."""

    http_status = 503
    exit_code = 5


class EvaluationError(MusicGraphError):
    """The offline evaluation can't run or produced something inconsistent."""

    exit_code = 6
