from django.contrib.auth.decorators import login_not_required
from django.urls import path, register_converter
from drf_spectacular.views import SpectacularAPIView

from api import views
from api.auth import OwnerOrKey


class IdConverter:
    """A database id: digits that fit a bigint (a longer number is a 404, not a database error)."""

    regex = "[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IdConverter, "id")


def _api(view):
    # API requests carry a key, not a session: the login middleware must let them through to DRF.
    return login_not_required(view.as_view())


app_name = "api"
urlpatterns = [
    path("schema/", login_not_required(SpectacularAPIView.as_view(permission_classes=[OwnerOrKey])), name="schema"),
    path("customers/", _api(views.CustomerListView), name="customers"),
    path("customers/<id:customer_id>/", _api(views.CustomerDetailView), name="customer"),
    path("customers/<id:customer_id>/touchpoints/", _api(views.TouchpointListView), name="touchpoints"),
    path("purchases/", _api(views.PurchaseCreateView), name="purchases"),
    path("gift-codes/<str:code>/", _api(views.GiftCodeView), name="gift_code"),
    path("gift-codes/<str:code>/redeem/", _api(views.GiftCodeRedeemView), name="gift_code_redeem"),
    path("followups/", _api(views.FollowUpListView), name="followups"),
    path("followups/<id:followup_id>/complete/", _api(views.FollowUpCompleteView), name="followup_complete"),
]
