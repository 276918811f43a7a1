"""How a report gets in: the channels (public web form, JSON API, clerk entry, mailboxes), the one submit
path every channel ends in (`submit_report`), receipts and follow-up, the reporter's encrypted identity,
evidence storage, and mail in and out (ingest, outbox). It may import `config/` and `core/`; it tells the
floors above that a report arrived by a signal (intake.signals), never by importing them."""
