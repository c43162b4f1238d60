"""Events the tickets app announces. Receivers live in higher apps (connected in their AppConfig.ready).

All are sent *inside* the transaction that wrote the ticket, so a receiver's writes (an incident
link, say) commit or roll back with it. Receivers must not do network I/O; enqueue with on_commit.
"""

from django.dispatch import Signal

# A ticket was opened (``created=True``) or its matching fields (service, area, equipment, text or
# status) changed. Arguments: ticket, created, actor (a User or None); on creation also
# notify_customer (True/False: the opener asked for a confirmation e-mail or not; None: by channel).
ticket_changed = Signal()
# A reply, note or customer message was added. Arguments: ticket, event (the TicketEvent), actor.
ticket_commented = Signal()
# A signed-out visitor wrote on the contact form and must confirm by e-mail before the ticket is
# opened. Arguments: request (a tickets.models.ContactRequest). Notifications mails the link.
contact_requested = Signal()
# Public staff replies were written on many tickets at once (a bulk reply with a canned reply).
# Arguments: event_ids (list[int], the reply entries), actor. Receivers act set-based: one statement
# for all of them, not one per ticket (the notifications app queues the customers' e-mail).
tickets_replied = Signal()
