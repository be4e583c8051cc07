"""Owner-only staff management: list, add, deactivate, reset a password, hand over."""

from django.contrib import messages
from django.contrib.auth.models import User
from django.core.exceptions import ValidationError
from django.db.models import Count, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from accounts.forms import HandoverForm, PasswordResetForm, StaffCreateForm
from accounts.services import staff_create, staff_handover, staff_set_active, staff_set_password
from crm.forms import form_add_errors
from crm.roles import OWNER, owner_required


@owner_required
def staff_list(request):
    people = User.objects.annotate(
        is_owner_role=Count("groups", filter=Q(groups__name=OWNER)),
        customer_count=Count("owned_customers", distinct=True),
        open_followups=Count("followups", filter=Q(followups__status__in=["open", "snoozed"]), distinct=True),
    ).order_by("-is_active", "first_name", "username")
    return render(request, "accounts/staff_list.html", {"people": people})


@owner_required
def staff_add(request):
    form = StaffCreateForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            user = staff_create(
                created_by=request.user,
                username=data["username"],
                first_name=data["first_name"],
                last_name=data["last_name"],
                email=data["email"],
                role=data["role"],
                password=data["password1"],
            )
            messages.success(request, f"{user.get_full_name() or user.username} can now log in.")
            return redirect("accounts:staff_list")
        except ValidationError as exc:
            form_add_errors(form, exc)
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/staff_add.html", {"form": form}, status=status)


def _detail(request, person: User, status: int = 200, **forms):
    ctx = {
        "person": person,
        "is_owner_role": person.groups.filter(name=OWNER).exists(),
        "customer_count": person.owned_customers.count(),
        "open_followups": person.followups.filter(status__in=["open", "snoozed"]).count(),
        "password_form": forms.get("password_form") or PasswordResetForm(),
        "handover_form": forms.get("handover_form") or HandoverForm(from_user=person),
    }
    return render(request, "accounts/staff_detail.html", ctx, status=status)


@owner_required
def staff_detail(request, user_id: int):
    return _detail(request, get_object_or_404(User, pk=user_id))


@owner_required
@require_POST
def staff_active(request, user_id: int):
    person = get_object_or_404(User, pk=user_id)
    active = request.POST.get("active") == "1"
    try:
        staff_set_active(user=person, changed_by=request.user, active=active)
        messages.success(
            request, f"{person.username} is {'active again' if active else 'deactivated: they can no longer log in'}."
        )
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
    return redirect("accounts:staff_detail", person.pk)


@owner_required
@require_POST
def staff_password(request, user_id: int):
    person = get_object_or_404(User, pk=user_id)
    form = PasswordResetForm(request.POST)
    if form.is_valid():
        try:
            staff_set_password(user=person, changed_by=request.user, password=form.cleaned_data["password1"])
            messages.success(request, f"New password set for {person.username}. Tell them in person.")
            return redirect("accounts:staff_detail", person.pk)
        except ValidationError as exc:
            form_add_errors(form, exc)
    return _detail(request, person, status=400, password_form=form)


@owner_required
@require_POST
def staff_handover_view(request, user_id: int):
    person = get_object_or_404(User, pk=user_id)
    form = HandoverForm(request.POST, from_user=person)
    if form.is_valid():
        try:
            counts = staff_handover(
                from_user=person,
                to_user=form.cleaned_data["to_user"],
                handed_over_by=request.user,
                deactivate=form.cleaned_data["deactivate"],
            )
            messages.success(
                request, f"Handed over {counts['customers']} customer(s) and {counts['followups']} open follow-up(s)."
            )
            return redirect("accounts:staff_detail", person.pk)
        except ValidationError as exc:
            form_add_errors(form, exc)
    return _detail(request, person, status=400, handover_form=form)
