from django.http import HttpRequest

from .middleware import is_staff_surface
from .tenancy import can, staff_of


def staff(request: HttpRequest) -> dict[str, object]:
    user = getattr(request, "user", None)
    return {
        "staff": staff_of(user),
        "can_use_console": can(user, "console.access"),
        # The staff language switch: not on the subscriber pages, which choose
        # their language themselves (reverification).
        "staff_language_switch": is_staff_surface(request.path),
    }
