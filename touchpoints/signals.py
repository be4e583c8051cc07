"""Signals this app sends, so the apps above it hear about touchpoints without it importing them."""

from django.dispatch import Signal

# Sent with `touchpoint=` inside the transaction that logs it (`sender` is the Touchpoint class): a
# receiver that raises rolls the touchpoint back too. Automations plans loyalty, referral and
# make-it-right from it and cancels a waiting "we miss you".
touchpoint_logged = Signal()
