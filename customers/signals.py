"""Events the customers app announces. Receivers live in higher apps (connected in their AppConfig.ready).

Sent inside the transaction that wrote the row, so a receiver's writes (an outbox row) commit with it.
"""

from django.dispatch import Signal

# A customer asked for a sign-in link by e-mail. Arguments: link (a customers.models.SignInLink).
# The notifications app mails it through the outbox; customers cannot import notifications.
sign_in_link_requested = Signal()
