"""The OpenAPI 3.1 document of the JSON API, as Python data (served at /api/v1/openapi.json).

Schemas are JSON Schema 2020-12, as OpenAPI 3.1 has it; the tests validate every answer they
get against them, and check that the document and the app's routes name the same operations.
"""

from __future__ import annotations

from bot.models import KINDS, VISIBILITIES
from bot.service import ID_PATTERN
from bot.service.listing import MAX_EXPIRING, MAX_TEXT, SCAN_LIMIT
from bot.web.errors import BY_CODE
from bot.web.openapi_schemas import SCHEMAS, Schema, json_content, ref

API = "/api/v1"

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
    return {str(BY_CODE[code].status): ref("responses", _response_name(code)) for code in codes}


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
    "parameters": [ref("parameters", "ContentId"), ref("parameters", "DeleteToken")],
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
                            "oneOf": [ref("schemas", "NewLink"), ref("schemas", "NewPaste")]
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
                    "multipart/form-data": {"schema": ref("schemas", "NewItemForm")},
                    "application/x-www-form-urlencoded": {
                        "schema": ref("schemas", "NewItemUrlEncoded")
                    },
                },
            },
            "responses": {
                "201": {
                    **json_content(ref("schemas", "Created"), "Made."),
                    "headers": {
                        "Location": {
                            "description": "The item's API address.",
                            "schema": {"type": "string"},
                        }
                    },
                    "links": _CREATED_LINKS,
                },
                "200": {
                    **json_content(
                        ref("schemas", "Created"), "You had added this before: that item."
                    ),
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
                "200": json_content(ref("schemas", "ItemPage"), "One page."),
                **_errors("invalid", "unauthorized", "rate_limited", "unavailable"),
            },
        },
    },
    f"{API}/items/{{content_id}}": {
        "get": {
            "operationId": "getItem",
            "summary": "An item's metadata (not a visit: nothing is counted)",
            "security": _ANYONE_OR_OWNER,
            "parameters": [ref("parameters", "ContentId"), ref("parameters", "Password")],
            "responses": {
                "200": json_content(ref("schemas", "Item"), "The item."),
                **_errors("unauthorized", "not_found", "gone", "blocked", "rate_limited"),
            },
        },
        "patch": {
            "operationId": "updateItem",
            "summary": "Change one of your items: expiry, view limit, visibility, password",
            "security": _OWNER,
            "parameters": [ref("parameters", "ContentId")],
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {
                        "schema": ref("schemas", "ItemChanges"),
                        "examples": {
                            "extend": {"value": {"expires": "+7d"}},
                            "lock": {"value": {"visibility": "private", "password": "s3cret"}},
                        },
                    }
                },
            },
            "responses": {
                "200": json_content(ref("schemas", "Item"), "The item as it is now."),
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
                        "schema": ref("schemas", "BulkRequest"),
                        "examples": {
                            "extend": {
                                "value": {"action": "extend", "ids": ["aB3dE9x"], "by": "7d"}
                            },
                        },
                    }
                },
            },
            "responses": {
                "200": json_content(ref("schemas", "BulkResult"), "What happened to each id."),
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
                ref("parameters", "ContentId"),
                {
                    "name": "days",
                    "in": "query",
                    "schema": {"type": "integer", "minimum": 1, "maximum": 366, "default": 30},
                },
            ],
            "responses": {
                "200": json_content(ref("schemas", "Stats"), "The stats."),
                **_errors("invalid", "unauthorized", "not_found", "rate_limited"),
            },
        },
    },
    f"{API}/openapi.json": {
        "get": {
            "operationId": "openapi",
            "summary": "This document",
            "responses": {"200": json_content({"type": "object"}, "OpenAPI 3.1, as JSON.")},
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
                "200": json_content(ref("schemas", "ShareXConfig"), "Open it with ShareX."),
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
                _response_name(code): json_content(ref("schemas", "Error"), description)
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
