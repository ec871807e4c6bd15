from apps.accounts.navigation import items_for


def navigation(request) -> dict:
    user = getattr(request, "user", None)
    if user is None:
        return {"nav_items": []}
    return {"nav_items": items_for(user)}
