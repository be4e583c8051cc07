"""Owner and Staff roles are Django groups, created by a migration."""

from functools import wraps

from django.core.exceptions import PermissionDenied

OWNER = "Owner"
STAFF = "Staff"


def is_owner(user) -> bool:
    if not user.is_authenticated:
        return False
    if user.is_superuser:
        return True
    # Cache on the user object: the nav asks on every page.
    if not hasattr(user, "_rapport_is_owner"):
        user._rapport_is_owner = user.groups.filter(name=OWNER).exists()
    return user._rapport_is_owner


def owner_required(view):
    """403 for anyone who is not the owner (anonymous users are sent to log in first)."""

    @wraps(view)
    def wrapper(request, *args, **kwargs):
        if not is_owner(request.user):
            raise PermissionDenied("Only the shop owner can open this page.")
        return view(request, *args, **kwargs)

    return wrapper
