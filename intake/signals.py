"""Events intake emits. Routing subscribes in the app factory; intake never imports routing."""
from blinker import Namespace

_signals = Namespace()

#: Sent after a report is committed: sender is the Flask app, keyword report_id.
report_received = _signals.signal("report-received")
