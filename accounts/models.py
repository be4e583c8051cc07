# Accounts keep no models of their own: roles are Django groups (see roles.py).
