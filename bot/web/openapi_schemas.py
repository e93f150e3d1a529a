"""The schemas of the OpenAPI document (bot/web/openapi.py): what each body and answer holds."""

from __future__ import annotations

from typing import Any

from bot.models import BULK_ACTIONS, KINDS, VISIBILITIES
from bot.service import ALIAS_PATTERN, ID_PATTERN, MAX_PASSWORD, MAX_VIEWS_LIMIT
from bot.service.owning import MAX_BULK

Schema = dict[str, Any]


def ref(kind: str, name: str) -> Schema:
    return {"$ref": f"#/components/{kind}/{name}"}


def json_content(schema: Schema, description: str) -> Schema:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def nullable(type_name: str, **extra: Any) -> Schema:
    return {"type": [type_name, "null"], **extra}


_OPTIONS: dict[str, Schema] = {
    "expires": {
        "type": "string",
        "description": "Lifetime, e.g. `30m`, `1h`, `7d`, `2w` (default: the instance's).",
        "examples": ["7d"],
    },
    "max_views": nullable(
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
            "expires_at": nullable("string", format="date-time"),
            "max_views": nullable("integer", minimum=1),
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
            "filename": nullable("string"),
            "raw_url": {"type": "string", "format": "uri", "description": "The stored bytes."},
            "language": {"type": "string"},
            "line_count": {"type": "integer", "minimum": 0},
            "width": {"type": "integer", "minimum": 1},
            "height": {"type": "integer", "minimum": 1},
            "thumb_url": {"type": "string", "format": "uri", "description": "WebP, ≤ 512 px."},
            "first_line": nullable(
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
            "delete_token": nullable(
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
            "items": {"type": "array", "items": ref("schemas", "Item")},
            "next_cursor": nullable(
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
            "expires": nullable(
                "string",
                description="A lifetime from now (`7d`), a time to add to the present expiry "
                "(`+7d`), or null for never (when the instance has no maximum).",
                examples=["30d", "+7d"],
            ),
            "max_views": nullable(
                "integer",
                minimum=1,
                maximum=MAX_VIEWS_LIMIT,
                description="More than the views it has had; null removes the limit.",
            ),
            "visibility": {
                "enum": list(VISIBILITIES),
                "description": "The item keeps its id: one made private later keeps its short id.",
            },
            "password": nullable(
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
