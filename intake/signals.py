"""Events intake emits. Routing subscribes in the app factory; intake never imports routing."""
from blinker import Namespace

_signals = Namespace()

#: Sent after a report is committed: sender is the Flask app, keyword report_id.
report_received = _signals.signal("report-received")

#: Sent after an objection (复查 request) is committed: keywords report_id, objection_id. Casework opens
#: the review stage (its deadline and reminders) when the factory has connected it.
objection_filed = _signals.signal("objection-filed")
