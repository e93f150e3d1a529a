"""The OpenAPI 3.1 document of the JSON API, as Python data (served at /api/v1/openapi.json).

Schemas are JSON Schema 2020-12, as OpenAPI 3.1 has it; the tests validate every answer they
get against them, and check that the document and the app's routes name the same operations.
"""

from __future__ import annotations

from typing import Any

from bot.models import BULK_ACTIONS, KINDS, VISIBILITIES
from bot.service import ALIAS_PATTERN, ID_PATTERN, MAX_PASSWORD, MAX_VIEWS_LIMIT
from bot.service.listing import MAX_EXPIRING, MAX_TEXT, SCAN_LIMIT
from bot.service.owning import MAX_BULK
from bot.web.errors import BY_CODE

Schema = dict[str, Any]

API = "/api/v1"


def _ref(kind: str, name: str) -> Schema:
    return {"$ref": f"#/components/{kind}/{name}"}


def _json(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _nullable(type_name: str, **extra: Any) -> Schema:
    return {"type": [type_name, "null"], **extra}


_OPTIONS: dict[str, Schema] = {
    "expires": {
        "type": "string",
        "description": "Lifetime, e.g. `30m`, `1h`, `7d`, `2w` (default: the instance's).",
        "examples": ["7d"],
    },
    "max_views": _nullable(
        "integer", minimum=1, description="Gone (410) after this many views; bots do not count."
    ),
    "visibility": {
        "enum": list(VISIBILITIES),
        "default": "public",
        "description": "`private` items get long, unguessable ids.",
    },
    "password": {
        "type": "string",
        "maxLength": 200,
        "description": "Visitors must give it (`X-Password` header, or a form on the page).",
    },
    "allow_secrets": {
        "type": "boolean",
        "default": False,
        "description": "Store a paste even if it holds a credential (a token, a key, a "
        "password); without it such a paste is refused with 422 `secret_found`.",
    },
}

# Form fields arrive as text: numbers and flags too.
_FORM_OPTIONS: dict[str, Schema] = {
    **_OPTIONS,
    "max_views": {"type": "string", "pattern": "^[0-9]+$", "description": "A whole number."},
    "private": {"type": "string", "description": "`1` for visibility=private."},
    "unlisted": {"type": "string", "description": "`1` for visibility=unlisted."},
    "allow_secrets": {
        "type": "string",
        "description": "`1` to store a paste that holds a credential (else 422 `secret_found`).",
    },
}

_FORM_CONTENT: dict[str, Schema] = {
    "url": {"type": "string", "description": "An http(s) link to shorten."},
    "alias": {"type": "string", "description": "A custom id for a link."},
    "text": {"type": "string", "description": "A paste (UTF-8)."},
    "language": {"type": "string", "description": "The paste's language (default: guessed)."},
    "filename": {"type": "string", "description": "A name for the paste or file."},
    "input": {
        "type": "string",
        "description": "ShareX's `{input}`: a link to shorten when no file is sent; "
        "ignored when one is.",
    },
}

SCHEMAS: dict[str, Schema] = {
    "Error": {
        "type": "object",
        "required": ["error"],
        "additionalProperties": False,
        "properties": {
            "error": {
                "type": "object",
                "required": ["code", "message"],
                "additionalProperties": False,
                "properties": {
                    "code": {
                        "type": "string",
                        "description": "Stable, for programs: `invalid`, `unauthorized`, "
                        "`not_found`, `gone`, `too_large`, `rate_limited`, …",
                        "examples": ["not_found"],
                    },
                    "message": {"type": "string", "description": "For people."},
                },
            }
        },
    },
    "ItemFields": {
        "type": "object",
        "required": [
            "id",
            "url",
            "kind",
            "visibility",
            "created_at",
            "expires_at",
            "max_views",
            "views",
            "has_password",
        ],
        "properties": {
            "id": {"type": "string", "pattern": ID_PATTERN.pattern},
            "url": {"type": "string", "format": "uri", "description": "The short link."},
            "kind": {"enum": list(KINDS)},
            "visibility": {"enum": list(VISIBILITIES)},
            "created_at": {"type": "string", "format": "date-time"},
            "expires_at": _nullable("string", format="date-time"),
            "max_views": _nullable("integer", minimum=1),
            "views": {
                "type": "integer",
                "minimum": 0,
                "description": "Views so far (counted in batches and cached: it may lag).",
            },
            "has_password": {"type": "boolean"},
            "target": {
                "type": "string",
                "format": "uri",
                "description": "A link's target; of a view-limited link, for its owner only.",
            },
            "sha256": {
                "type": "string",
                "pattern": "^[0-9a-f]{64}$",
                "description": "Of a private, password-protected or view-limited item, for its "
                "owner only.",
            },
            "size": {
                "type": "integer",
                "minimum": 0,
                "description": "Of a password-protected or view-limited item, for its owner only.",
            },
            "media_type": {"type": "string", "description": "Decided by the bytes themselves."},
            "filename": _nullable("string"),
            "raw_url": {"type": "string", "format": "uri", "description": "The stored bytes."},
            "language": {"type": "string"},
            "line_count": {"type": "integer", "minimum": 0},
            "width": {"type": "integer", "minimum": 1},
            "height": {"type": "integer", "minimum": 1},
            "thumb_url": {"type": "string", "format": "uri", "description": "WebP, ≤ 512 px."},
            "first_line": _nullable(
                "string",
                maxLength=200,
                description="In listings, a paste's first line with something on it (null "
                "for pastes stored before refbin kept it).",
            ),
            "matches": {
                "type": "string",
                "description": "In a search's results (q), a paste's matching lines, each "
                "word found between « and », shown to the paste's owner only.",
            },
        },
        "allOf": [
            {
                "if": {"properties": {"kind": {"const": "url"}}},
                "else": {"required": ["media_type", "filename", "raw_url"]},
            },
            {
                "if": {"properties": {"kind": {"const": "text"}}},
                "then": {"required": ["language", "line_count"]},
            },
            {
                "if": {"properties": {"kind": {"const": "image"}}},
                "then": {"required": ["width", "height", "thumb_url"]},
            },
        ],
    },
    "Item": {"$ref": "#/components/schemas/ItemFields", "unevaluatedProperties": False},
    "Created": {
        "$ref": "#/components/schemas/ItemFields",
        "required": ["created", "delete_token"],
        "properties": {
            "created": {
                "type": "boolean",
                "description": "false: you had added the same content before; that item is "
                "returned unchanged (and no new delete token).",
            },
            "delete_token": _nullable(
                "string", description="Deletes the item (X-Delete-Token). Shown only now."
            ),
        },
        "unevaluatedProperties": False,
    },
    "ItemPage": {
        "type": "object",
        "required": ["items", "next_cursor"],
        "additionalProperties": False,
        "properties": {
            "items": {"type": "array", "items": _ref("schemas", "Item")},
            "next_cursor": _nullable(
                "string", description="Pass as `cursor` for the next page; null at the end."
            ),
        },
    },
    "Stats": {
        "type": "object",
        "required": ["id", "views", "per_day", "referrers"],
        "additionalProperties": False,
        "properties": {
            "id": {"type": "string"},
            "views": {"type": "integer", "minimum": 0},
            "per_day": {
                "type": "array",
                "description": "Oldest first; days without visits are left out.",
                "items": {
                    "type": "object",
                    "required": ["day", "count"],
                    "additionalProperties": False,
                    "properties": {
                        "day": {"type": "string", "format": "date"},
                        "count": {"type": "integer", "minimum": 1},
                    },
                },
            },
            "referrers": {
                "type": "array",
                "description": "The top referring hosts ('' for none), most visits first.",
                "items": {
                    "type": "object",
                    "required": ["referrer", "count"],
                    "additionalProperties": False,
                    "properties": {
                        "referrer": {"type": "string"},
                        "count": {"type": "integer", "minimum": 1},
                    },
                },
            },
        },
    },
    "ItemChanges": {
        "type": "object",
        "minProperties": 1,
        "additionalProperties": False,
        "description": "What to change; fields left out stay as they are.",
        "properties": {
            "expires": _nullable(
                "string",
                description="A lifetime from now (`7d`), a time to add to the present expiry "
                "(`+7d`), or null for never (when the instance has no maximum).",
                examples=["30d", "+7d"],
            ),
            "max_views": _nullable(
                "integer",
                minimum=1,
                maximum=MAX_VIEWS_LIMIT,
                description="More than the views it has had; null removes the limit.",
            ),
            "visibility": {
                "enum": list(VISIBILITIES),
                "description": "The item keeps its id: one made private later keeps its short id.",
            },
            "password": _nullable(
                "string", minLength=1, maxLength=MAX_PASSWORD, description="null removes it."
            ),
        },
    },
    "BulkRequest": {
        "type": "object",
        "required": ["action", "ids"],
        "additionalProperties": False,
        "properties": {
            "action": {"enum": list(BULK_ACTIONS)},
            "ids": {
                "type": "array",
                "minItems": 1,
                "maxItems": MAX_BULK,
                "items": {"type": "string"},
                "description": "Repeats count once.",
            },
            "by": {
                "type": "string",
                "description": "For `extend`: how much later each item expires (`7d`).",
            },
            "visibility": {"enum": list(VISIBILITIES), "description": "For `visibility`."},
        },
        "allOf": [
            {
                "if": {"properties": {"action": {"const": "extend"}}},
                "then": {"required": ["by"]},
                "else": {"not": {"required": ["by"]}},
            },
            {
                "if": {"properties": {"action": {"const": "visibility"}}},
                "then": {"required": ["visibility"]},
                "else": {"not": {"required": ["visibility"]}},
            },
        ],
    },
    "BulkResult": {
        "type": "object",
        "required": ["results"],
        "additionalProperties": False,
        "properties": {
            "results": {
                "type": "array",
                "description": "One per id asked for, in order. Another's item is `not_found`, "
                "as one that does not exist.",
                "items": {
                    "type": "object",
                    "required": ["id", "ok"],
                    "additionalProperties": False,
                    "properties": {
                        "id": {"type": "string"},
                        "ok": {"type": "boolean"},
                        "error": {"$ref": "#/components/schemas/Error/properties/error"},
                    },
                },
            }
        },
    },
    "NewLink": {
        "type": "object",
        "required": ["url"],
        "additionalProperties": False,
        "properties": {
            "url": {"type": "string", "description": "An http(s) link."},
            "alias": {"type": "string", "pattern": ALIAS_PATTERN.pattern},
            **_OPTIONS,
        },
    },
    "NewPaste": {
        "type": "object",
        "required": ["text"],
        "additionalProperties": False,
        "properties": {
            "text": {"type": "string", "minLength": 1},
            "language": {"type": "string", "examples": ["python"]},
            "filename": {"type": "string"},
            **_OPTIONS,
        },
    },
    "NewItemForm": {
        "type": "object",
        "description": "One of `file`, `url`, `text` (or ShareX's `input`). Option fields must "
        "come before the file part.",
        "additionalProperties": False,
        "properties": {
            **_FORM_CONTENT,
            **_FORM_OPTIONS,
            "file": {
                "type": "string",
                "contentMediaType": "application/octet-stream",
                "description": "A file or image; streamed, never held whole in memory.",
            },
        },
    },
    "NewItemUrlEncoded": {
        "type": "object",
        "additionalProperties": False,
        "properties": {**_FORM_CONTENT, **_FORM_OPTIONS},
    },
    "ShareXConfig": {
        "type": "object",
        "required": [
            "Version",
            "Name",
            "DestinationType",
            "RequestMethod",
            "RequestURL",
            "Headers",
            "Body",
            "FileFormName",
            "URL",
            "ErrorMessage",
        ],
        "properties": {
            "Version": {"type": "string"},
            "Name": {"type": "string"},
            "DestinationType": {"type": "string"},
            "RequestMethod": {"const": "POST"},
            "RequestURL": {"type": "string", "format": "uri"},
            "Headers": {
                "type": "object",
                "required": ["Authorization"],
                "properties": {"Authorization": {"type": "string", "pattern": "^Bearer "}},
            },
            "Body": {"const": "MultipartFormData"},
            "Arguments": {"type": "object", "additionalProperties": {"type": "string"}},
            "FileFormName": {"const": "file"},
            "URL": {"type": "string"},
            "ThumbnailURL": {"type": "string"},
            "ErrorMessage": {"type": "string"},
        },
    },
}

# The refusals the API documents, by their JSON error code; status and name from one table.
_ERRORS: dict[str, str] = {
    "invalid": "The input is not acceptable.",
    "unauthorized": "The token (or the item's password) is missing or wrong.",
    "forbidden": "Refused (a cross-site request from a browser).",
    "not_found": "No such item, or not yours: both answer the same.",
    "method_not_allowed": "The path exists but not with this method.",
    "gone": "The item expired or was viewed as often as allowed.",
    "conflict": "The alias is taken.",
    "too_large": "Over the size limit or your quota.",
    "unsupported_media_type": "The body is not JSON, multipart/form-data or a URL-encoded form.",
    "unprocessable": "Well-formed but unusable (a corrupt image), or a paste that holds a "
    "credential: code `secret_found`, naming its kind and line; `allow_secrets` stores it.",
    "rate_limited": "Too many requests; see Retry-After.",
    "blocked": "Blocked on this instance.",
    "unavailable": "The database or the storage is unavailable; retry later.",
}


def _response_name(code: str) -> str:
    """`not_found` -> `NotFound`: the name of a refusal among the document's responses."""
    return "".join(word.title() for word in code.split("_"))


def _errors(*codes: str) -> dict[str, Schema]:
    return {str(BY_CODE[code].status): _ref("responses", _response_name(code)) for code in codes}


PARAMETERS: dict[str, Schema] = {
    "ContentId": {
        "name": "content_id",
        "in": "path",
        "required": True,
        "schema": {"type": "string", "pattern": ID_PATTERN.pattern},
    },
    "Password": {
        "name": "X-Password",
        "in": "header",
        "required": False,
        "description": "The item's password, when it has one.",
        "schema": {"type": "string"},
    },
    "DeleteToken": {
        "name": "X-Delete-Token",
        "in": "header",
        "required": False,
        "description": "The delete token given when the item was made.",
        "schema": {"type": "string"},
    },
}

_OWNER = [{"bearer": []}]
_ANYONE_OR_OWNER: list[dict[str, list[str]]] = [{}, {"bearer": []}]
_DELETE_RIGHTS = [{"bearer": []}, {"deleteToken": []}]
# What a client can do next with an item it has just made (OpenAPI links).
_CREATED_LINKS: Schema = {
    "GetItem": {"operationId": "getItem", "parameters": {"content_id": "$response.body#/id"}},
    "ItemStats": {"operationId": "itemStats", "parameters": {"content_id": "$response.body#/id"}},
    "DeleteItem": {
        "operationId": "deleteItem",
        "parameters": {
            "content_id": "$response.body#/id",
            "header.X-Delete-Token": "$response.body#/delete_token",
        },
        "description": "With the delete token (null when the item existed: then as its owner).",
    },
}

_DELETE_OPERATION: Schema = {
    "summary": "Delete an item, as its owner (bearer token) or with its delete token",
    "security": _DELETE_RIGHTS,
    "parameters": [_ref("parameters", "ContentId"), _ref("parameters", "DeleteToken")],
    "responses": {
        "204": {"description": "Deleted."},
        **_errors("unauthorized", "forbidden", "not_found", "rate_limited", "unavailable"),
    },
}

PATHS: dict[str, Schema] = {
    f"{API}/items": {
        "post": {
            "operationId": "createItem",
            "summary": "Shorten a link, store a paste, or upload a file or image",
            "description": "JSON for links and pastes; multipart/form-data (field `file`) for "
            "files. Anonymous when the instance allows it; with a token the item is yours "
            "(listed, with stats, deletable without its token).",
            "security": _ANYONE_OR_OWNER,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": {
                            "oneOf": [_ref("schemas", "NewLink"), _ref("schemas", "NewPaste")]
                        },
                        "examples": {
                            "link": {"value": {"url": "https://example.com/some/long/path"}},
                            "paste": {
                                "value": {
                                    "text": "print('hello')\n",
                                    "language": "python",
                                    "expires": "7d",
                                }
                            },
                        },
                    },
                    "multipart/form-data": {"schema": _ref("schemas", "NewItemForm")},
                    "application/x-www-form-urlencoded": {
                        "schema": _ref("schemas", "NewItemUrlEncoded")
                    },
                },
            },
            "responses": {
                "201": {
                    **_json(_ref("schemas", "Created"), "Made."),
                    "headers": {
                        "Location": {
                            "description": "The item's API address.",
                            "schema": {"type": "string"},
                        }
                    },
                    "links": _CREATED_LINKS,
                },
                "200": {
                    **_json(_ref("schemas", "Created"), "You had added this before: that item."),
                    "links": _CREATED_LINKS,
                },
                **_errors(
                    "invalid",
                    "unauthorized",
                    "forbidden",
                    "conflict",
                    "too_large",
                    "unsupported_media_type",
                    "unprocessable",
                    "rate_limited",
                    "blocked",
                    "unavailable",
                ),
            },
        },
        "get": {
            "operationId": "listItems",
            "summary": "Your items, newest first, a page at a time",
            "security": _OWNER,
            "description": "Every filter given must hold. Newest first; with `expiring`, "
            "soonest expiry first. With a filter that has no index of its own (`q`, "
            "`visibility=public`, `has_password=false`, two filters at once), each page looks "
            f"at up to {SCAN_LIMIT:,} of your items, so a page may hold fewer items than "
            "`limit` (even none) while `next_cursor` is not null.",
            "parameters": [
                {"name": "kind", "in": "query", "schema": {"enum": list(KINDS)}},
                {"name": "visibility", "in": "query", "schema": {"enum": list(VISIBILITIES)}},
                {
                    "name": "expiring",
                    "in": "query",
                    "description": "Only items that expire within this many days.",
                    "schema": {"type": "integer", "minimum": 1, "maximum": MAX_EXPIRING.days},
                },
                {"name": "has_password", "in": "query", "schema": {"type": "boolean"}},
                {
                    "name": "view_limited",
                    "in": "query",
                    "description": "Only items with (true) or without (false) a view limit.",
                    "schema": {"type": "boolean"},
                },
                {
                    "name": "q",
                    "in": "query",
                    "description": "A search (docs/search.md): words of a paste's text, "
                    'pieces of the id, file name or link target, "quoted phrases", the last '
                    "word as a prefix, and filters kind:, lang:, is:, before:, after:. Results "
                    "are ranked by relevance, then newest; a paste's carry `matches`.",
                    "schema": {"type": "string", "maxLength": MAX_TEXT},
                },
                {"name": "cursor", "in": "query", "schema": {"type": "string"}},
                {
                    "name": "limit",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 100, "default": 20},
                },
            ],
            "responses": {
                "200": _json(_ref("schemas", "ItemPage"), "One page."),
                **_errors("invalid", "unauthorized", "rate_limited", "unavailable"),
            },
        },
    },
    f"{API}/items/{{content_id}}": {
        "get": {
            "operationId": "getItem",
            "summary": "An item's metadata (not a visit: nothing is counted)",
            "security": _ANYONE_OR_OWNER,
            "parameters": [_ref("parameters", "ContentId"), _ref("parameters", "Password")],
            "responses": {
                "200": _json(_ref("schemas", "Item"), "The item."),
                **_errors("unauthorized", "not_found", "gone", "blocked", "rate_limited"),
            },
        },
        "patch": {
            "operationId": "updateItem",
            "summary": "Change one of your items: expiry, view limit, visibility, password",
            "security": _OWNER,
            "parameters": [_ref("parameters", "ContentId")],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": _ref("schemas", "ItemChanges"),
                        "examples": {
                            "extend": {"value": {"expires": "+7d"}},
                            "lock": {"value": {"visibility": "private", "password": "s3cret"}},
                        },
                    }
                },
            },
            "responses": {
                "200": _json(_ref("schemas", "Item"), "The item as it is now."),
                **_errors(
                    "invalid",
                    "unauthorized",
                    "forbidden",
                    "not_found",
                    "gone",
                    "too_large",
                    "unsupported_media_type",
                    "rate_limited",
                    "unavailable",
                ),
            },
        },
        "delete": {"operationId": "deleteItem", **_DELETE_OPERATION},
    },
    f"{API}/items/bulk": {
        "post": {
            "operationId": "bulkItems",
            "summary": "Delete, extend or change the visibility of many of your items at once",
            "description": "In one transaction; the answer says what happened to each id.",
            "security": _OWNER,
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": _ref("schemas", "BulkRequest"),
                        "examples": {
                            "extend": {
                                "value": {"action": "extend", "ids": ["aB3dE9x"], "by": "7d"}
                            },
                        },
                    }
                },
            },
            "responses": {
                "200": _json(_ref("schemas", "BulkResult"), "What happened to each id."),
                **_errors(
                    "invalid",
                    "unauthorized",
                    "forbidden",
                    "too_large",
                    "unsupported_media_type",
                    "rate_limited",
                    "unavailable",
                ),
            },
        }
    },
    f"{API}/items/{{content_id}}/stats": {
        "get": {
            "operationId": "itemStats",
            "summary": "Visits per day and top referrers of one of your items",
            "security": _OWNER,
            "parameters": [
                _ref("parameters", "ContentId"),
                {
                    "name": "days",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 366, "default": 30},
                },
            ],
            "responses": {
                "200": _json(_ref("schemas", "Stats"), "The stats."),
                **_errors("invalid", "unauthorized", "not_found", "rate_limited"),
            },
        },
    },
    f"{API}/openapi.json": {
        "get": {
            "operationId": "openapi",
            "summary": "This document",
            "responses": {"200": _json({"type": "object"}, "OpenAPI 3.1, as JSON.")},
        }
    },
    "/{content_id}": {
        "delete": {
            "operationId": "deleteItemShort",
            "description": "The same as DELETE /api/v1/items/{content_id}, on the short link "
            "itself: `curl -X DELETE -H 'X-Delete-Token: …' https://bin.example/aB3dE9x`.",
            **_DELETE_OPERATION,
        }
    },
    "/sharex.sxcu": {
        "get": {
            "operationId": "sharexConfig",
            "summary": "A ShareX custom uploader for your token (a .sxcu attachment)",
            "security": [{"bearer": []}, {"tokenQuery": []}],
            "responses": {
                "200": _json(_ref("schemas", "ShareXConfig"), "Open it with ShareX."),
                **_errors("unauthorized"),
            },
        }
    },
}


def document(base_url: str) -> Schema:
    """The whole OpenAPI document for an instance at `base_url`."""
    return {
        "openapi": "3.1.0",
        "jsonSchemaDialect": "https://json-schema.org/draft/2020-12/schema",
        "info": {
            "title": "refbin",
            "version": "1",
            "summary": "A URL shortener, paste bin and file host.",
            "description": 'Every error is `{"error": {"code", "message"}}`. Make a token '
            "with `refbin token create NAME`; send it as `Authorization: Bearer <token>`.",
        },
        "servers": [{"url": base_url}],
        "paths": PATHS,
        "components": {
            "schemas": SCHEMAS,
            "parameters": PARAMETERS,
            "responses": {
                _response_name(code): _json(_ref("schemas", "Error"), description)
                for code, description in _ERRORS.items()
            },
            "securitySchemes": {
                "bearer": {
                    "type": "http",
                    "scheme": "bearer",
                    "description": "An API token from `refbin token create NAME`.",
                },
                "deleteToken": {"type": "apiKey", "in": "header", "name": "X-Delete-Token"},
                "tokenQuery": {"type": "apiKey", "in": "query", "name": "token"},
            },
        },
    }
