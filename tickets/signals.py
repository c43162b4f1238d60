"""Events the tickets app announces. Receivers live in higher apps (connected in their AppConfig.ready).

Both are sent *inside* the transaction that wrote the ticket, so a receiver's writes (an incident
link, say) commit or roll back with it. Receivers must not do network I/O; enqueue with on_commit.
"""

from django.dispatch import Signal

# A ticket was opened (``created=True``) or its matching fields (service, area, equipment, text or
# status) changed. Arguments: ticket, created, actor (a User or None).
ticket_changed = Signal()
