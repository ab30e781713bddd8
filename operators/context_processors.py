from django.http import HttpRequest

from .tenancy import can, staff_of


def staff(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    return {
        "staff": staff_of(user),
        "can_use_console": can(user, "console.access"),
    }
