"""The JSON API (/api/v1/): thin views that validate with the pages' forms and call the pages' services.

Every write is recorded in the history as the key's owner, with the reason "via API key <name>".
"""

import base64
import binascii
import json
from datetime import datetime, timedelta

from django.contrib.auth.models import User
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import transaction
from django.db.models import Prefetch
from django.shortcuts import get_object_or_404
from django.utils import timezone
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema, inline_serializer
from rest_framework import serializers, status
from rest_framework.exceptions import NotFound, ValidationError
from rest_framework.pagination import CursorPagination
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView
from simple_history.utils import update_change_reason

from api import serializers as s
from api.idempotency import HEADER as IDEMPOTENCY_HEADER
from api.idempotency import idempotent
from api.models import ApiKey
from crm.expressions import RelatedNames
from crm.models import ShopSettings
from customers import services as customer_services
from customers.models import Customer, FollowUp, Product
from customers.selectors import customer_search_rows
from gifts.services import gift_code_lookup, gift_code_redeem
from tills.models import TillPurchase, Vendor
from tills.services import purchase_record
from tills.vendors import Purchase
from touchpoints.models import Touchpoint
from touchpoints.services import touchpoint_log

ERROR = inline_serializer(
    "Error",
    fields={
        "error": inline_serializer(
            "ErrorDetail",
            fields={
                "status": serializers.IntegerField(),
                "code": serializers.CharField(),
                "message": serializers.CharField(),
                "fields": serializers.DictField(
                    child=serializers.ListField(child=serializers.CharField()),
                    help_text="Field errors as the pages' forms give them; '__all__' for the whole request.",
                ),
            },
        ),
    },
)
ERRORS = {code: OpenApiResponse(ERROR) for code in (400, 401, 403, 404, 409, 429)}
IDEMPOTENCY = OpenApiParameter(
    IDEMPOTENCY_HEADER,
    OpenApiTypes.STR,
    OpenApiParameter.HEADER,
    required=False,
    description="Send the same key with the same body again: you get the first answer. Another body: 409.",
)


def page_of(item: type[serializers.Serializer], name: str):
    """A page of a list as the API answers it: `results`, and links to the pages either side."""
    return inline_serializer(
        name,
        fields={
            "next": serializers.URLField(allow_null=True, help_text="The next page; null on the last."),
            "previous": serializers.URLField(allow_null=True),
            "results": item(many=True),
        },
    )


def _actor(request: Request) -> User:
    """Who an API write is made as: the owner who created the key (ApiKeyAuthentication)."""
    key: ApiKey = request.auth  # type: ignore[assignment]  # DRF types auth as a token; ours is a key
    return key.created_by


def _via(key) -> str:
    return f"via API key {key.name}"[:100]


def _context(request: Request) -> dict:
    shop = ShopSettings.load()
    return {
        "shop_currency": shop.currency,
        "region": shop.phone_region,
        "request": request,
        "shop_today": timezone.localdate(timezone.now(), shop.tz),
    }


class Pages(CursorPagination):
    page_size = 25
    max_page_size = 100
    page_size_query_param = "page_size"
    ordering = "-id"


def _customers_with_lists():
    """Customers with their favourite products' and tags' names in the same row, A-Z: two prefetches
    built a related manager per customer and list, a third of a search page's time."""
    return Customer.objects.annotate(
        favourite_product_names=RelatedNames("favourite_products"), tag_names=RelatedNames("tags")
    )


class ApiView(APIView):
    # Shared by the API's views: the request's shop settings, read once (not a docstring: the schema
    # would show it as every operation's description).

    def context(self) -> dict:
        return _context(self.request)


# --- Customers --------------------------------------------------------------------------------


def _offset_cursor(raw: str | None) -> int:
    if not raw:
        return 0
    try:
        offset = json.loads(base64.urlsafe_b64decode(raw.encode()).decode())["o"]
    except (ValueError, KeyError, TypeError, binascii.Error, UnicodeError):
        raise NotFound("This cursor is not one we gave.") from None
    if not isinstance(offset, int) or not 0 <= offset <= 10_000:
        raise NotFound("This cursor is not one we gave.")
    return offset


def _offset_link(request: Request, offset: int) -> str:
    query = request.query_params.copy()
    query["cursor"] = base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode()
    return request.build_absolute_uri(request.path + "?" + query.urlencode())


class CustomerListView(ApiView):
    scopes = {"GET": "read", "POST": "write"}
    pagination = Pages

    @extend_schema(
        operation_id="customers_list",
        tags=["customers"],
        parameters=[
            OpenApiParameter(
                "q",
                OpenApiTypes.STR,
                description="Part of a name, an email or a phone number, as the search box; prefix matches first.",
            ),
            OpenApiParameter("updated_since", OpenApiTypes.DATETIME, description="Only customers changed since."),
            OpenApiParameter("archived", OpenApiTypes.BOOL, description="true: archived ones only."),
        ],
        responses={200: page_of(s.CustomerSerializer, "CustomerPage"), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        """Customers, newest first; with `q`, as the search box finds them (prefix matches first)."""
        params = s.CustomerFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        q, since = params.validated_data.get("q", ""), params.validated_data.get("updated_since")
        context = self.context()
        paginator = self.pagination()
        if q:
            # The search page's own query (prefix matches first), paged by an opaque offset.
            size = paginator.get_page_size(request) or paginator.page_size
            offset = _offset_cursor(request.query_params.get("cursor"))
            ids = list(
                customer_search_rows(q=q, region=context["region"], start=offset, stop=offset + size + 1).values_list(
                    "pk", flat=True
                )
            )
            rows = {c.pk: c for c in _customers_with_lists().filter(pk__in=ids[:size])}
            data = s.CustomerSerializer([rows[pk] for pk in ids[:size] if pk in rows], many=True, context=context).data
            return Response(
                {
                    "next": _offset_link(request, offset + size) if len(ids) > size else None,
                    "previous": _offset_link(request, max(offset - size, 0)) if offset else None,
                    "results": data,
                }
            )
        customers = _customers_with_lists().filter(is_archived=params.validated_data.get("archived", False))
        if since is not None:
            customers = customers.filter(updated_at__gte=since)
        page: list | None = paginator.paginate_queryset(customers, request, view=self)
        return paginator.get_paginated_response(s.CustomerSerializer(page, many=True, context=context).data)

    @extend_schema(
        operation_id="customers_create",
        tags=["customers"],
        parameters=[IDEMPOTENCY],
        request=s.CustomerWriteSerializer,
        responses={201: s.CustomerSerializer, **ERRORS},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        """Add a customer, validated as the page's customer form; the relationship owner defaults to the key's owner."""
        context = self.context()
        incoming = s.CustomerWriteSerializer(data=request.data, context=context)
        incoming.is_valid(raise_exception=True)
        customer = customer_services.customer_create(created_by=_actor(request), **incoming.validated_data)
        update_change_reason(customer, _via(request.auth))
        customer = _customers_with_lists().get(pk=customer.pk)
        return Response(s.CustomerSerializer(customer, context=context).data, status=status.HTTP_201_CREATED)


class CustomerDetailView(ApiView):
    scopes = {"GET": "read", "PATCH": "write"}

    def customer(self, customer_id: int) -> Customer:
        return get_object_or_404(_customers_with_lists(), pk=customer_id)

    @extend_schema(operation_id="customers_read", tags=["customers"], responses={200: s.CustomerSerializer, **ERRORS})
    def get(self, request: Request, customer_id: int) -> Response:
        """One customer, with the figures kept on them (purchases, lifetime spend, health, stage)."""
        return Response(s.CustomerSerializer(self.customer(customer_id), context=self.context()).data)

    @extend_schema(
        operation_id="customers_update",
        tags=["customers"],
        request=s.CustomerWriteSerializer,
        responses={200: s.CustomerSerializer, **ERRORS},
    )
    def patch(self, request: Request, customer_id: int) -> Response:
        """Change the fields sent; the others stay as they are."""
        context = self.context()
        with transaction.atomic():
            customer = get_object_or_404(Customer.objects.select_for_update(), pk=customer_id)
            incoming = s.CustomerWriteSerializer(data=request.data, context={**context, "customer": customer})
            incoming.is_valid(raise_exception=True)
            customer_services.customer_update(customer=customer, updated_by=_actor(request), **incoming.validated_data)
            update_change_reason(customer, _via(request.auth))
        return Response(s.CustomerSerializer(self.customer(customer_id), context=context).data)


# --- Touchpoints and purchases --------------------------------------------------------------------


class TouchpointListView(ApiView):
    scopes = {"GET": "read", "POST": "write"}
    pagination = Pages

    @extend_schema(
        operation_id="touchpoints_list",
        tags=["touchpoints"],
        responses={200: page_of(s.TouchpointSerializer, "TouchpointPage"), **ERRORS},
    )
    def get(self, request: Request, customer_id: int) -> Response:
        """A customer's timeline, newest first."""
        customer = get_object_or_404(Customer.objects.only("pk"), pk=customer_id)
        paginator = self.pagination()
        touchpoints = Touchpoint.objects.filter(customer=customer).prefetch_related(
            Prefetch("products", queryset=Product.objects.only("name"))
        )
        page = paginator.paginate_queryset(touchpoints, request, view=self)
        return paginator.get_paginated_response(s.TouchpointSerializer(page, many=True, context=self.context()).data)

    @extend_schema(
        operation_id="touchpoints_create",
        tags=["touchpoints"],
        parameters=[IDEMPOTENCY],
        request=s.TouchpointWriteSerializer,
        responses={201: s.TouchpointSerializer, **ERRORS},
    )
    @idempotent
    def post(self, request: Request, customer_id: int) -> Response:
        """Log a touchpoint, validated as the card's form; a complaint opens its follow-up as on the card."""
        customer = get_object_or_404(Customer, pk=customer_id)
        incoming = s.TouchpointWriteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        touchpoint = touchpoint_log(
            customer=customer,
            logged_by=_actor(request),
            kind=data["kind"],
            happened_at=data["happened_at"],
            note=data["note"],
            amount=data["amount"],
            products=data["products"],
            feedback_kind=data["feedback_kind"],
            sentiment=data["sentiment"],
            change_reason=_via(request.auth),
        )
        return Response(s.TouchpointSerializer(touchpoint, context=self.context()).data, status=status.HTTP_201_CREATED)


class PurchaseCreateView(ApiView):
    scopes = {"POST": "write"}

    @extend_schema(
        operation_id="purchases_create",
        tags=["purchases"],
        parameters=[IDEMPOTENCY],
        request=s.PurchaseWriteSerializer,
        responses={
            201: s.PurchaseSerializer,
            200: OpenApiResponse(s.PurchaseSerializer, "Already recorded with this external id."),
            **ERRORS,
        },
    )
    @idempotent
    def post(self, request: Request) -> Response:
        """Record a purchase once per `external_id`: the thank-you and loyalty gift follow as at the counter."""
        context = self.context()
        incoming = s.PurchaseWriteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        customer = Customer.objects.filter(pk=data["customer"], erased_at__isnull=True).first()
        if customer is None:
            raise ValidationError({"customer": ["There is no customer with this id."]})
        now = timezone.now()
        happened_at: datetime = data.get("happened_at") or now
        if happened_at > now + timedelta(minutes=5):
            raise ValidationError({"happened_at": ["That is in the future: purchases are logged after they happen."]})
        purchase = Purchase(
            external_id=data["external_id"],
            amount=data["amount"],
            currency=(data.get("currency") or context["shop_currency"]).upper(),
            happened_at=happened_at,
            products=[" ".join(p.split()) for p in data.get("products", []) if p.strip()],
        )
        known = TillPurchase.objects.filter(vendor=Vendor.API, external_id=purchase.external_id).exists()
        recorded = purchase_record(
            vendor=Vendor.API, purchase=purchase, logged_by=_actor(request), customer=customer, via=_via(request.auth)
        )
        return Response(s.PurchaseSerializer(recorded).data, status=200 if known else status.HTTP_201_CREATED)


# --- Gift codes ----------------------------------------------------------------------------------


class GiftCodeView(ApiView):
    scopes = {"GET": "redeem"}

    @extend_schema(operation_id="gift_codes_read", tags=["gift codes"], responses={200: s.GiftCodeSerializer, **ERRORS})
    def get(self, request: Request, code: str) -> Response:
        """Look a gift code up, as typed by the customer (case and dashes do not matter)."""
        try:
            gift = gift_code_lookup(code)
        except DjangoValidationError as error:
            raise NotFound(" ".join(error.messages)) from None
        return Response(s.GiftCodeSerializer(gift, context=self.context()).data)


class GiftCodeRedeemView(ApiView):
    scopes = {"POST": "redeem"}

    @extend_schema(
        operation_id="gift_codes_redeem",
        tags=["gift codes"],
        parameters=[IDEMPOTENCY],
        request=None,
        responses={200: s.GiftCodeSerializer, **ERRORS},
    )
    @idempotent
    def post(self, request: Request, code: str) -> Response:
        """Redeem a gift code once; logs "gift given" on the customer's timeline."""
        gift = gift_code_redeem(code=code, redeemed_by=_actor(request))
        update_change_reason(gift, _via(request.auth))
        return Response(s.GiftCodeSerializer(gift, context=self.context()).data)


# --- Follow-ups ------------------------------------------------------------------------------------


class FollowUpListView(ApiView):
    scopes = {"GET": "read", "POST": "write"}
    pagination = Pages

    @extend_schema(
        operation_id="followups_list",
        tags=["follow-ups"],
        parameters=[
            OpenApiParameter("status", OpenApiTypes.STR, enum=FollowUp.Status.values),
            OpenApiParameter("customer", OpenApiTypes.INT),
            OpenApiParameter("assignee", OpenApiTypes.INT),
            OpenApiParameter("due_before", OpenApiTypes.DATE, description="Due on or before this day."),
        ],
        responses={200: page_of(s.FollowUpSerializer, "FollowUpPage"), **ERRORS},
    )
    def get(self, request: Request) -> Response:
        """Follow-ups, filtered by status, customer, assignee or due date."""
        params = s.FollowUpFilterSerializer(data=request.query_params)
        params.is_valid(raise_exception=True)
        followups = FollowUp.objects.all()
        for name, lookup in (
            ("status", "status"),
            ("customer", "customer_id"),
            ("assignee", "assignee_id"),
            ("due_before", "due_date__lte"),
        ):
            if params.validated_data.get(name) not in (None, ""):
                followups = followups.filter(**{lookup: params.validated_data[name]})
        paginator = self.pagination()
        page = paginator.paginate_queryset(followups, request, view=self)
        return paginator.get_paginated_response(s.FollowUpSerializer(page, many=True).data)

    @extend_schema(
        operation_id="followups_create",
        tags=["follow-ups"],
        parameters=[IDEMPOTENCY],
        request=s.FollowUpWriteSerializer,
        responses={201: s.FollowUpSerializer, **ERRORS},
    )
    @idempotent
    def post(self, request: Request) -> Response:
        """Open a follow-up; it goes to the relationship owner unless an assignee is given."""
        incoming = s.FollowUpWriteSerializer(data=request.data)
        incoming.is_valid(raise_exception=True)
        data = incoming.validated_data
        customer = Customer.objects.filter(pk=data["customer"]).first()
        if customer is None:
            raise ValidationError({"customer": ["There is no customer with this id."]})
        followup = customer_services.followup_open(
            customer=customer,
            opened_by=_actor(request),
            reason=data["reason"],
            due_date=data["due_date"],
            assignee=data["assignee"],
        )
        update_change_reason(followup, _via(request.auth))
        return Response(s.FollowUpSerializer(followup).data, status=status.HTTP_201_CREATED)


class FollowUpCompleteView(ApiView):
    scopes = {"POST": "write"}

    @extend_schema(
        operation_id="followups_complete",
        tags=["follow-ups"],
        parameters=[IDEMPOTENCY],
        request=None,
        responses={200: s.FollowUpSerializer, **ERRORS},
    )
    @idempotent
    def post(self, request: Request, followup_id: int) -> Response:
        """Tick a follow-up off; one already closed is a 400."""
        followup = get_object_or_404(FollowUp, pk=followup_id)
        # Already closed: the service's ValidationError, answered as a 400 (api.errors).
        customer_services.followup_done(followup=followup, done_by=_actor(request))
        update_change_reason(followup, _via(request.auth))
        return Response(s.FollowUpSerializer(followup).data)
