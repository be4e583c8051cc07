"""Community pages: segments, newsletters, events, check-in, and the public RSVP and profile pages."""

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core import signing
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db.models import Case, Q, Value, When
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import mark_safe
from django.views.decorators.http import require_http_methods, require_POST

from automations.links import (
    ProfileLinkUsed,
    customer_id_from_profile_token,
    profile_confirm_from_token,
)
from community import selectors, services
from community.forms import (
    EventForm,
    InviteForm,
    NewsletterForm,
    NewsletterSendForm,
    PreviewForm,
    ProfileForm,
    ProfileLinkRequestForm,
    RsvpForm,
    SegmentForm,
)
from community.links import invitation_id_from_rsvp_token
from community.models import Event, Invitation, Newsletter, Segment
from community.rendering import dropped_images, newsletter_render_for
from crm.forms import form_add_errors
from crm.http import ShopRequest
from crm.ratelimits import rate_limited
from crm.roles import is_owner, owner_required
from customers.models import Customer

# --- Community home ----------------------------------------------------------------


def home(request: ShopRequest) -> HttpResponse:
    """Upcoming events and saved segments for everyone; newsletters for the owner."""
    ctx = {
        "events": selectors.event_list(upcoming=True)[:20],
        "segments": selectors.segment_list(),
        "newsletters": selectors.newsletter_list()[:5] if is_owner(request.user) else [],
    }
    return render(request, "community/home.html", ctx)


# --- Segments ----------------------------------------------------------------------


def segment_edit(request: ShopRequest, segment_id: int | None = None) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=segment_id) if segment_id else None
    if request.method == "POST":
        form = SegmentForm(request.POST)
        if form.is_valid():
            try:
                if segment:
                    services.segment_update(
                        segment=segment, name=form.cleaned_data["name"], filters=form.filters(), updated_by=request.user
                    )
                else:
                    segment = services.segment_create(
                        name=form.cleaned_data["name"], filters=form.filters(), created_by=request.user
                    )
            except ValidationError as error:
                form_add_errors(form, error)
            else:
                messages.success(request, f"Segment “{segment.name}” saved.")
                return redirect("community:segment_detail", segment.pk)
        status = 400
    else:
        form = SegmentForm(initial=SegmentForm.initial_for(segment) if segment else None)
        status = 200
    counts = selectors.segment_count(
        form.filters() if form.is_bound and form.is_valid() else (segment.filters if segment else {})
    )
    return render(
        request, "community/segment_form.html", {"form": form, "segment": segment, "counts": counts}, status=status
    )


@require_POST
def segment_count(request: ShopRequest) -> HttpResponse:
    """htmx: the live count while a filter is built."""
    form = SegmentForm(request.POST, require_name=False)
    if not form.is_valid():
        return render(request, "community/includes/_segment_count.html", {"counts": None, "form": form})
    return render(
        request, "community/includes/_segment_count.html", {"counts": selectors.segment_count(form.filters())}
    )


def segment_detail(request: ShopRequest, segment_id: int) -> HttpResponse:
    """A segment's members, 50 to a page."""
    segment = get_object_or_404(Segment, pk=segment_id)
    members = selectors.segment_customers(segment).select_related("owner").order_by("first_name", "last_name", "pk")
    page = Paginator(members, 50).get_page(request.GET.get("page"))
    ctx = {"segment": segment, "page": page, "counts": selectors.segment_count(segment.filters)}
    return render(request, "community/segment_detail.html", ctx)


@require_POST
def segment_delete(request: ShopRequest, segment_id: int) -> HttpResponse:
    segment = get_object_or_404(Segment, pk=segment_id)
    try:
        services.segment_delete(segment=segment, deleted_by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
        return redirect("community:segment_detail", segment.pk)
    messages.success(request, f"Segment “{segment.name}” deleted.")
    return redirect("community:home")


# --- Newsletters (owner) -------------------------------------------------------------


@owner_required
def newsletter_list(request: ShopRequest) -> HttpResponse:
    return render(request, "community/newsletter_list.html", {"newsletters": selectors.newsletter_list()})


@owner_required
def newsletter_edit(request: ShopRequest, newsletter_id: int | None = None) -> HttpResponse:
    newsletter = get_object_or_404(Newsletter, pk=newsletter_id) if newsletter_id else None
    if newsletter and not newsletter.is_editable:
        return redirect("community:newsletter_detail", newsletter.pk)
    form = NewsletterForm(request.POST or None, instance=newsletter)
    if request.method == "POST":
        if form.is_valid():
            try:
                newsletter = services.newsletter_save(
                    newsletter=newsletter,
                    subject=form.cleaned_data["subject"],
                    body=form.cleaned_data["body"],
                    segment=form.cleaned_data["segment"],
                    saved_by=request.user,
                )
            except ValidationError as error:
                form_add_errors(form, error)
            else:
                messages.success(request, "Draft saved. Preview it, send yourself a test, then send it.")
                if images := dropped_images(newsletter.body):
                    messages.warning(
                        request,
                        f"{images} image{'s' if images != 1 else ''} will be dropped: "
                        "emails carry no pictures. Link to them instead.",
                    )
                return redirect("community:newsletter_detail", newsletter.pk)
        return render(request, "community/newsletter_form.html", {"form": form, "newsletter": newsletter}, status=400)
    return render(request, "community/newsletter_form.html", {"form": form, "newsletter": newsletter})


@owner_required
def newsletter_detail(request: ShopRequest, newsletter_id: int) -> HttpResponse:
    """Preview for a real customer, test, send; once planned, the report."""
    newsletter = get_object_or_404(Newsletter.objects.select_related("segment"), pk=newsletter_id)
    members = (
        selectors.segment_customers(newsletter.segment).order_by("first_name", "last_name", "pk")
        if newsletter.segment
        else Customer.objects.none()
    )
    preview_form = PreviewForm(request.GET or None, members=members)
    customer = preview_form.cleaned_data["customer"] if preview_form.is_valid() else None
    customer = customer or members.first()
    preview = newsletter_render_for(newsletter=newsletter, customer=customer)
    ctx = {
        "newsletter": newsletter,
        "preview_form": preview_form,
        "preview_choices": members[:200],  # the first 200 to pick from; any member can be asked for by id
        "preview_customer": customer,
        "preview": preview,
        # Safe to show as HTML: nh3 cleaned the owner's Markdown and placeholder values are escaped.
        "preview_html": mark_safe(preview.html),  # noqa: S308
        "send_form": NewsletterSendForm(),
        "dropped_images": dropped_images(newsletter.body),
        "counts": selectors.segment_count(newsletter.segment.filters) if newsletter.segment else None,
        "report": selectors.newsletter_report(newsletter) if newsletter.status == Newsletter.Status.PLANNED else None,
    }
    return render(request, "community/newsletter_detail.html", ctx)


@owner_required
@require_POST
def newsletter_send(request: ShopRequest, newsletter_id: int) -> HttpResponse:
    newsletter = get_object_or_404(Newsletter, pk=newsletter_id)
    form = NewsletterSendForm(request.POST)
    if form.is_valid():
        send_at = form.cleaned_data["send_at"] if form.cleaned_data["when"] == "later" else None
        try:
            services.newsletter_schedule(newsletter=newsletter, send_at=send_at, scheduled_by=request.user)
        except ValidationError as error:
            messages.error(request, " ".join(error.messages))
        else:
            if send_at:
                local = timezone.localtime(newsletter.send_at)
                messages.success(request, f"Scheduled for {local:%A %-d %B %Y at %H:%M} (shop time).")
            else:
                messages.success(request, "On its way: the outbox sends it within the quiet hours and caps.")
            return redirect("community:newsletter_detail", newsletter.pk)
    else:
        messages.error(request, " ".join(str(e) for errs in form.errors.values() for e in errs))
    return redirect("community:newsletter_detail", newsletter.pk)


@owner_required
@require_POST
def newsletter_unschedule(request: ShopRequest, newsletter_id: int) -> HttpResponse:
    newsletter = get_object_or_404(Newsletter, pk=newsletter_id)
    try:
        services.newsletter_unschedule(newsletter=newsletter, by=request.user)
        messages.success(request, "Back to draft: it will not be sent.")
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    return redirect("community:newsletter_detail", newsletter.pk)


@owner_required
@require_POST
def newsletter_test(request: ShopRequest, newsletter_id: int) -> HttpResponse:
    """Email the owner the newsletter as the previewed customer would get it, now."""
    newsletter = get_object_or_404(Newsletter, pk=newsletter_id)
    customer = None
    if newsletter.segment and request.POST.get("customer"):
        customer = selectors.segment_customers(newsletter.segment).filter(pk=request.POST["customer"]).first()
    try:
        services.newsletter_send_test(newsletter=newsletter, customer=customer, to_user=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"Test sent to {request.user.email}.")
    return redirect("community:newsletter_detail", newsletter.pk)


# --- Events ----------------------------------------------------------------------------


@owner_required
def event_edit(request: ShopRequest, event_id: int | None = None) -> HttpResponse:
    event = get_object_or_404(Event, pk=event_id) if event_id else None
    form = EventForm(request.POST or None, instance=event)
    if request.method == "POST":
        if form.is_valid():
            fields = {name: form.cleaned_data[name] for name in form.Meta.fields}
            try:
                event = services.event_save(event=event, saved_by=request.user, **fields)
            except ValidationError as error:
                form_add_errors(form, error)
            else:
                messages.success(request, f"“{event.title}” saved.")
                return redirect("community:event_detail", event.pk)
        return render(request, "community/event_form.html", {"form": form, "event": event}, status=400)
    return render(request, "community/event_form.html", {"form": form, "event": event})


def event_detail(request: ShopRequest, event_id: int) -> HttpResponse:
    event = get_object_or_404(Event, pk=event_id)
    answer_order = Case(
        *(When(answer=a, then=Value(i)) for i, a in enumerate(["going", "waiting", "pending", "declined"])),
        default=Value(9),
    )
    invitations = (
        Invitation.objects.filter(event=event)
        .select_related("customer")
        .order_by(answer_order, "waiting_since", "customer__first_name", "pk")
    )
    page = Paginator(invitations, 100).get_page(request.GET.get("page"))
    ctx = {
        "event": event,
        "figures": selectors.event_figures(event),
        "page": page,
        "invite_form": InviteForm(),
        "unreachable": invitations.filter(Q(customer__email="") | Q(customer__email_consent=False)).count(),
        "answers_open": event.starts_at > timezone.now(),
    }
    return render(request, "community/event_detail.html", ctx)


@owner_required
@require_POST
def event_invite(request: ShopRequest, event_id: int) -> HttpResponse:
    event = get_object_or_404(Event, pk=event_id)
    form = InviteForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick a segment to invite.")
        return redirect("community:event_detail", event.pk)
    try:
        added = services.event_invite(event=event, segment=form.cleaned_data["segment"], invited_by=request.user)
    except ValidationError as error:
        messages.error(request, " ".join(error.messages))
    else:
        messages.success(request, f"{added} new invitation{'s' if added != 1 else ''}; the outbox sends them.")
    return redirect("community:event_detail", event.pk)


def event_checkin(request: ShopRequest, event_id: int) -> HttpResponse:
    """The door list for a phone: one tap checks someone in."""
    event = get_object_or_404(Event, pk=event_id)
    ctx = {
        "event": event,
        "invitations": selectors.event_checkin_list(event),
        "figures": selectors.event_figures(event),
    }
    return render(request, "community/event_checkin.html", ctx)


@require_POST
def invitation_record_answer(request: ShopRequest, invitation_id: int) -> HttpResponse:
    """Staff record an answer given in person or by phone (customers without email answer this way)."""
    invitation = get_object_or_404(Invitation.objects.select_related("event", "customer"), pk=invitation_id)
    form = RsvpForm(request.POST, max_guests=invitation.event.max_guests)
    if not form.is_valid():
        errors = [str(e) for field_errors in form.errors.values() for e in field_errors]
        messages.error(request, f"{invitation.customer.full_name}'s answer was not recorded: {' '.join(errors)}")
    else:
        try:
            invitation = services.invitation_answer(
                invitation=invitation,
                coming=form.cleaned_data["coming"],
                guests=form.cleaned_data["guests"] or 0,
                answered_by=request.user,
            )
        except ValidationError as error:
            messages.error(
                request, f"{invitation.customer.full_name}'s answer was not recorded: {' '.join(error.messages)}"
            )
        else:
            messages.success(request, f"{invitation.customer.full_name}: {invitation.get_answer_display().lower()}.")
    return redirect(f"{reverse('community:event_detail', args=[invitation.event_id])}#inv-{invitation.pk}")


@require_POST
def invitation_check_in(request: ShopRequest, invitation_id: int) -> HttpResponse:
    invitation = get_object_or_404(Invitation.objects.select_related("event"), pk=invitation_id)
    invitation = services.invitation_check_in(invitation=invitation, checked_in_by=request.user)
    if request.htmx:
        return render(request, "community/includes/_checkin_row.html", {"invitation": invitation})
    messages.success(request, f"{invitation.customer} checked in.")
    return redirect("community:event_checkin", invitation.event_id)


# --- Public pages: RSVP and the profile link ---------------------------------------------


def _link_problem(request: HttpRequest, *, title: str, text: str, status: int) -> HttpResponse:
    return render(request, "community/public_problem.html", {"title": title, "text": text}, status=status)


@login_not_required
@rate_limited(group="public-links", rate_setting="RATELIMIT_PUBLIC_PAGES")
def rsvp(request: HttpRequest, token: str) -> HttpResponse:
    """The invitation's own page: yes or no, guests, change the answer."""
    try:
        invitation_id = invitation_id_from_rsvp_token(token)
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return _link_problem(
            request,
            title="This link does not work",
            text="It may have been cut short when it was copied. Please open it again from the invitation email.",
            status=400,
        )
    invitation = Invitation.objects.select_related("event", "customer").filter(pk=invitation_id).first()
    if invitation is None:
        return _link_problem(
            request, title="This invitation no longer exists", text="Please ask the shop for a new one.", status=410
        )
    event = invitation.event
    closed = event.starts_at <= timezone.now()
    form = RsvpForm(
        request.POST if request.method == "POST" and not closed else None,
        max_guests=event.max_guests,
        initial={
            "coming": {"going": "yes", "waiting": "yes", "declined": "no"}.get(invitation.answer),
            "guests": invitation.guests,
        },
    )
    status = 200
    if request.method == "POST":
        if closed:
            messages.error(request, "This event has already started, so answers are closed.")
            status = 400
        elif form.is_valid():
            try:
                invitation = services.invitation_answer(
                    invitation=invitation, coming=form.cleaned_data["coming"], guests=form.cleaned_data["guests"] or 0
                )
            except ValidationError as error:
                form_add_errors(form, error)
                status = 400
            else:
                return redirect("community:rsvp", token)
        else:
            status = 400
    ctx = {
        "invitation": invitation,
        "event": event,
        "form": form,
        "closed": closed,
        "figures": selectors.event_figures(event),
        "position": selectors.waiting_position(invitation) if invitation.answer == Invitation.Answer.WAITING else None,
    }
    return render(request, "community/rsvp.html", ctx, status=status)


PROFILE_BAD_LINK = (
    "This link does not work",
    "It may have been cut short when it was copied. Please open it again from our email.",
)


def _profile_link_problem(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The page for a profile or confirmation link that cannot be used, with a way to ask for a new one."""
    if isinstance(exc, ProfileLinkUsed):
        title, status = "This link has been used", 410
        text = "For your privacy, each link works for one save. Ask for a new one below and we'll email it to you."
    elif isinstance(exc, signing.SignatureExpired):
        title, status = "This link has expired", 410
        text = (
            "For your privacy, these links only work for a while. Ask for a new one below, or just ask us in the shop."
        )
    else:
        (title, text), status = PROFILE_BAD_LINK, 400
    ctx = {"title": title, "text": text, "link_request_form": ProfileLinkRequestForm()}
    return render(request, "community/public_problem.html", ctx, status=status)


@login_not_required
@rate_limited(group="public-links", rate_setting="RATELIMIT_PUBLIC_PAGES")
def profile(request: HttpRequest, token: str) -> HttpResponse:
    """The customer keeps their own details right, without an account; the link works for one save."""
    try:
        customer_id = customer_id_from_profile_token(token)
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        return _profile_link_problem(request, exc)
    customer = Customer.objects.filter(pk=customer_id, is_archived=False, erased_at__isnull=True).first()
    if customer is None:
        return _link_problem(request, title="We can't find your details", text="Please ask us in the shop.", status=410)
    initial = {
        "preferred_name": customer.preferred_name or customer.first_name,
        "birthday_day": customer.birthday_day,
        "birthday_month": customer.birthday_month,
        "birthday_year": customer.birthday_year,
        "favourite_products": list(customer.favourite_products.all()),
        "email": customer.email,
        "email_consent": "yes" if customer.email_consent else "no",
        "shown": ["favourite_products"],
    }
    form = ProfileForm(request.POST if request.method == "POST" else None, initial=initial)
    status = 200
    if request.method == "POST":
        if form.is_valid():
            try:
                result = services.customer_profile_update(customer=customer, changes=form.sent())
            except ValidationError as error:
                form_add_errors(form, error)
                customer.refresh_from_db()
            else:
                if result.confirm_sent_to:
                    messages.info(
                        request,
                        f"We've emailed a link to {result.confirm_sent_to}: the change to your "
                        "email or consent is made once you open it.",
                    )
                if result.changed:
                    messages.success(
                        request,
                        "Thank you, your details are up to date. This link has now been "
                        "used; the next email from us brings a fresh one.",
                    )
                    return redirect("community:profile_saved")
                if not result.anything:
                    messages.info(request, "Nothing was changed.")
                return redirect("community:profile", token)
        status = 400
    return render(request, "community/profile.html", {"form": form, "customer": customer}, status=status)


@login_not_required
def profile_saved(request: HttpRequest) -> HttpResponse:
    """Where a save through a (now used) profile link lands."""
    return render(
        request,
        "community/public_problem.html",
        {
            "title": "Your details are saved",
            "text": "Thank you. This link has been used; the next email from us "
            "brings a fresh one, or ask for one below.",
            "link_request_form": ProfileLinkRequestForm(),
            "saved": True,
        },
    )


@login_not_required
@rate_limited(group="public-links", rate_setting="RATELIMIT_PUBLIC_PAGES")
@require_http_methods(["GET", "POST"])
def profile_confirm(request: HttpRequest, token: str) -> HttpResponse:
    """Confirm an email or consent change from the inbox it was sent to (a button: mail scanners only GET)."""
    try:
        customer_id, changes = profile_confirm_from_token(token)
    except (signing.BadSignature, KeyError, TypeError, ValueError) as exc:
        return _profile_link_problem(request, exc)
    customer = Customer.objects.filter(pk=customer_id, is_archived=False, erased_at__isnull=True).first()
    if customer is None:
        return _link_problem(request, title="We can't find your details", text="Please ask us in the shop.", status=410)
    if request.method == "POST":
        try:
            services.customer_profile_confirm(customer=customer, changes=changes)
        except ValidationError as error:
            return _link_problem(
                request, title="This change could not be made", text=" ".join(error.messages), status=400
            )
        return render(
            request,
            "community/public_problem.html",
            {"title": "Confirmed, thank you", "text": "Your details are up to date.", "saved": True},
        )
    return render(request, "community/profile_confirm.html", {"customer": customer, "changes": changes})


@login_not_required
@rate_limited(group="public-links", rate_setting="RATELIMIT_PUBLIC_PAGES")
@require_POST
def profile_link_request(request: HttpRequest) -> HttpResponse:
    """Ask for a fresh profile link by email; the answer is the same whether the address is known or not."""
    form = ProfileLinkRequestForm(request.POST)
    if not form.is_valid():
        ctx = {
            "title": "Ask for a new link",
            "text": "Give the email address we write to you at.",
            "link_request_form": form,
        }
        return render(request, "community/public_problem.html", ctx, status=400)
    services.profile_link_request(email=form.cleaned_data["email"])
    return render(
        request,
        "community/public_problem.html",
        {
            "title": "Check your inbox",
            "saved": True,
            "text": "If that address is one we write to, a new link is on its way. It works for one save.",
        },
    )
