"""Named intake errors. Each carries a stable code; the web and API edges translate it."""
from __future__ import annotations


class IntakeError(Exception):
    code = "invalid"
    status = 400

    def __init__(self, **params):
        super().__init__(self.code, params)
        self.params = params


class TextTooShort(IntakeError):
    code = "text_too_short"


class TextTooLong(IntakeError):
    code = "text_too_long"


class FieldTooLong(IntakeError):
    code = "field_too_long"


class FieldRequired(IntakeError):
    code = "required"


class InvalidEmail(IntakeError):
    code = "invalid_email"


class InvalidPhone(IntakeError):
    code = "invalid_phone"


class ConsentMissing(IntakeError):
    code = "consent_missing"


class TooManyFiles(IntakeError):
    code = "too_many_files"


class AttachmentTooLarge(IntakeError):
    code = "file_too_large"
    status = 413


class AttachmentEmpty(IntakeError):
    code = "file_empty"


class UnsupportedFileType(IntakeError):
    code = "file_type"
    status = 415


class StorageUnavailable(IntakeError):
    code = "storage_unavailable"
    status = 503


class ReceiptNotFound(IntakeError):
    code = "not_found"
    status = 404


class ReceiptInMessage(IntakeError):
    code = "receipt_in_message"


class AlreadySubmitted(IntakeError):
    """A replayed submission whose receipt can no longer be shown again."""
    code = "already_submitted"
    status = 409


class ReceivedInFuture(IntakeError):
    """A clerk's "received at" that lies after now (params: now, the district's local time as text)."""
    code = "received_in_future"


class ValidationFailed(IntakeError):
    """Several field errors at once: {field: IntakeError}."""
    code = "validation_failed"
    status = 422

    def __init__(self, errors: dict[str, IntakeError]):
        super().__init__()
        self.errors = errors

    @property
    def first(self) -> IntakeError:
        return next(iter(self.errors.values()))


class ReceiptMustReset(IntakeError):
    """A clerk-issued receipt must be replaced before it is used for anything else."""
    code = "receipt_must_reset"
    status = 409


class MailNotWaiting(IntakeError):
    """The mail is not (or no longer) waiting for a clerk: someone else took it, or it is not theirs to see."""
    code = "mail_not_waiting"
    status = 409


class MailOriginalMissing(IntakeError):
    """The original of a quarantined mail was left on the mail server (too large to fetch)."""
    code = "mail_original_missing"
    status = 409


class NoSuchCase(IntakeError):
    """No report has this reference (or the person may not act on it: the same answer)."""
    code = "no_such_case"
    status = 404
class NoResultYet(IntakeError):
    """A rating or an objection before the case has ended with a result."""
    code = "no_result_yet"
    status = 409


class FeedbackWindowClosed(IntakeError):
    """More than 30 days after the result."""
    code = "feedback_window_closed"
    status = 409


class AlreadyRated(IntakeError):
    code = "already_rated"
    status = 409


class AlreadyObjected(IntakeError):
    """信访工作条例: the same facts are not taken up a second time."""
    code = "already_objected"
    status = 409


class InvalidRating(IntakeError):
    code = "invalid_rating"
    status = 422


class ReceiptReplaced(IntakeError):
    """A code that its holder replaced by a new one: says when, and whom to call if that was not them."""
    code = "receipt_replaced"
    status = 410
