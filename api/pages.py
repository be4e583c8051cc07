"""The owner's pages for the API: keys (created, shown once, revoked) and the docs read from the schema."""

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.views.decorators.http import require_POST
from drf_spectacular.generators import SchemaGenerator

from api.forms import ApiKeyForm
from api.models import ApiKey
from api.services import api_key_create, api_key_revoke
from crm.forms import form_add_errors
from crm.http import ShopRequest
from crm.roles import owner_required

METHODS = ("get", "post", "put", "patch", "delete")


@owner_required
def api_keys(request: ShopRequest) -> HttpResponse:
    """The keys; a new key's text is shown in the answer to the POST that made it, and never again."""
    form, new_key, status = ApiKeyForm(), None, 200
    if request.method == "POST":
        form = ApiKeyForm(request.POST)
        if form.is_valid():
            try:
                key, raw = api_key_create(created_by=request.user, **form.cleaned_data)
            except ValidationError as error:
                form_add_errors(form, error)
            else:
                new_key, form = {"key": key, "raw": raw}, ApiKeyForm()
        if new_key is None:
            status = 400
    keys = ApiKey.objects.select_related("created_by")
    response = render(request, "api/keys.html", {"form": form, "keys": keys, "new_key": new_key}, status=status)
    response["Cache-Control"] = "no-store"  # the key is in this page once: keep it out of caches
    return response


@owner_required
@require_POST
def api_key_revoke_view(request: HttpRequest, key_id: int) -> HttpResponse:
    key = get_object_or_404(ApiKey, pk=key_id)
    api_key_revoke(api_key=key)
    messages.success(request, f"Revoked “{key.name}”: it stops working at once.")
    return redirect("api_pages:keys")


def _schema_ref(schema: dict, node: dict | None) -> dict:
    """Follow a $ref into components.schemas."""
    while node and "$ref" in node:
        node = schema["components"]["schemas"].get(node["$ref"].rsplit("/", 1)[1], {})
    return node or {}


def _fields(schema: dict, node: dict | None) -> list[dict]:
    node = _schema_ref(schema, node)
    required = set(node.get("required", []))
    out = []
    for name, prop in node.get("properties", {}).items():
        prop = _schema_ref(schema, prop) if "$ref" in prop else prop
        kind = prop.get("type") or (
            "one of: " + ", ".join(str(v) for v in prop.get("enum", [])) if prop.get("enum") else ""
        )
        if prop.get("format"):
            kind = f"{kind} ({prop['format']})"
        out.append(
            {
                "name": name,
                "type": kind,
                "required": name in required,
                "read_only": prop.get("readOnly"),
                "description": prop.get("description", ""),
            }
        )
    return out


def _answer_item(schema: dict, node: dict | None) -> dict | None:
    """What one item of an answer is: the answer itself, or a page's `results` items."""
    node = _schema_ref(schema, node)
    if node.get("type") == "array":
        return node.get("items")
    results = node.get("properties", {}).get("results")
    return results.get("items") if results else node


@owner_required
def api_docs(request: HttpRequest) -> HttpResponse:
    """Every operation of the OpenAPI schema, rendered here (no script from elsewhere: it works offline)."""
    schema = SchemaGenerator().get_schema(request=None, public=True)
    operations = []
    for path, item in schema["paths"].items():
        for method in METHODS:
            op = item.get(method)
            if not op:
                continue
            body = op.get("requestBody", {}).get("content", {}).get("application/json", {}).get("schema")
            ok: dict = next((r for code, r in op.get("responses", {}).items() if code.startswith("2")), {})
            operations.append(
                {
                    "id": op.get("operationId"),
                    "method": method.upper(),
                    "path": path,
                    "tag": (op.get("tags") or [""])[0],
                    "summary": op.get("description", ""),
                    "parameters": op.get("parameters", []),
                    "request": _fields(schema, body),
                    "response": _fields(
                        schema, _answer_item(schema, ok.get("content", {}).get("application/json", {}).get("schema"))
                    ),
                    "statuses": sorted(op.get("responses", {})),
                }
            )
    return render(
        request,
        "api/docs.html",
        {
            "operations": operations,
            "schema_url": request.build_absolute_uri(reverse("api:schema")),
            "version": schema["info"].get("version", ""),
        },
    )
