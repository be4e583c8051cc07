"""The owner's shop settings page."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render

from crm.forms import ShopSettingsForm
from crm.http import ShopRequest
from crm.roles import owner_required
from crm.services import shop_settings_update


@owner_required
def shop_settings(request: ShopRequest) -> HttpResponse:
    shop = request.shop
    if request.method != "POST":
        return render(request, "crm/shop_settings.html", {"form": ShopSettingsForm(instance=shop)})
    form = ShopSettingsForm(request.POST, instance=shop)
    if form.is_valid():
        try:
            shop_settings_update(updated_by=request.user, **form.cleaned_data)
        except ValidationError as error:
            form.add_error(None, error)
        else:
            messages.success(request, "Shop settings saved.")
            return redirect("shop:settings")
    shop.refresh_from_db()
    return render(request, "crm/shop_settings.html", {"form": form}, status=400)
