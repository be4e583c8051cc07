from crm.roles import is_owner


def shop(request) -> dict:
    user = getattr(request, "user", None)
    return {
        "shop": getattr(request, "shop", None),
        "user_is_owner": bool(user and user.is_authenticated and is_owner(user)),
    }
