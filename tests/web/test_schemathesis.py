"""Schemathesis against the JSON API of a real `refbin web` process on a loopback port.

Every operation of /api/v1/openapi.json gets generated requests, valid and invalid, with an API
token; each answer must be no 5xx and conform to the document (status, headers, content type,
body schema). Then stateful runs chain the operations through the document's links: create an
item, read it, read its stats, delete it, read it again.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections import Counter
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, settings
from schemathesis import GenerationMode, checks

from bot.web import openapi
from tests.security_fixtures import fresh_database

STARTUP_SECONDS = 30
EXAMPLES = 20
fuzzing = settings(
    max_examples=EXAMPLES,
    deadline=None,
    phases=[Phase.explicit, Phase.generate],  # no shrinking: a failure is reported as found
    suppress_health_check=list(HealthCheck),
)


@dataclass(frozen=True)
class LiveApi:
    url: str
    token: str


@pytest.fixture(scope="module")
async def api_database(postgres, template_database) -> AsyncIterator[str]:
    async with fresh_database(postgres, template_database) as dsn:
        yield dsn


@pytest.fixture(scope="module")
def live_api(api_database: str, tmp_path_factory) -> Iterator[LiveApi]:
    """`python -m bot web` on a free port, with an API token made by `refbin token create`."""
    folder: Path = tmp_path_factory.mktemp("schemathesis")
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = {
        **os.environ,
        "REFBIN_DATABASE_URL": api_database,
        "REFBIN_DATABASE_DATA_DIR": str(folder / "data"),
        "REFBIN_SERVER_PORT": str(port),
        "REFBIN_LIMITS_RATE_CREATE": "0",
        "REFBIN_LIMITS_RATE_READ": "0",
        "REFBIN_LIMITS_RATE_DELETE": "0",
    }
    made = subprocess.run(
        [sys.executable, "-m", "bot", "token", "create", "fuzzer"],
        env=env,
        capture_output=True,
        check=True,
        timeout=STARTUP_SECONDS,
    )
    token = made.stdout.decode().strip()
    with (folder / "stderr.log").open("wb") as log:
        server = subprocess.Popen(
            [sys.executable, "-m", "bot", "web"], env=env, stdout=subprocess.PIPE, stderr=log
        )
        try:
            assert server.stdout is not None
            line = server.stdout.readline()  # printed once the port is open
            assert b"refbin is serving on" in line, (folder / "stderr.log").read_text()
            yield LiveApi(url=f"http://127.0.0.1:{port}", token=token)
        finally:
            server.terminate()
            assert server.wait(STARTUP_SECONDS) == 0
    errors = (folder / "stderr.log").read_text()
    assert "Traceback" not in errors, errors


@pytest.fixture(scope="module")
def api_schema(live_api: LiveApi) -> schemathesis.BaseSchema:
    loaded = schemathesis.openapi.from_url(f"{live_api.url}/api/v1/openapi.json")
    loaded.config.update(base_url=live_api.url, request_timeout=10)
    # Unknown query parameters are ignored, as HTTP APIs do: not a schema violation to refuse.
    loaded.config.generation.update(allow_extra_parameters=False)
    return loaded


@pytest.fixture(scope="module")
def owner(live_api: LiveApi) -> dict[str, str]:
    return {"Authorization": f"Bearer {live_api.token}"}


# What every answer is held to. Left out: positive_data_acceptance, since the document
# cannot say everything the service refuses with a 400 (a `javascript:` link is a string).
CHECKS = [
    checks.not_a_server_error,
    checks.status_code_conformance,
    checks.content_type_conformance,
    checks.response_headers_conformance,
    checks.response_schema_conformance,
    checks.negative_data_rejection,
    checks.ignored_auth,
    checks.use_after_free,
    checks.ensure_resource_availability,
]
# ignored_auth sends each request once more with its credentials spoiled; a delete carries two
# (a bearer token or the delete token, either enough), so spoiling one still deletes.
STATEFUL_CHECKS = [check for check in CHECKS if check is not checks.ignored_auth]
ITEMS = "/api/v1/items"
ITEM = ITEMS + "/{content_id}"
OPERATIONS = [
    (method.upper(), path)
    for path, item in openapi.PATHS.items()
    for method in item
    if path.startswith("/api/")
]


def checks_for(case: schemathesis.Case, wanted: list) -> list:
    """A form field is text: a "wrong type" cannot be sent in one, so a form that a generator
    meant as invalid may well be valid. Invalid data must be refused in JSON and parameters."""
    if case.media_type in (None, "application/json"):
        return wanted
    return [check for check in wanted if check is not checks.negative_data_rejection]


@pytest.mark.parametrize(("method", "path"), OPERATIONS, ids=[f"{m} {p}" for m, p in OPERATIONS])
def test_every_operation_answers_as_documented_and_never_5xx(
    api_schema: schemathesis.BaseSchema, owner: dict[str, str], method: str, path: str
) -> None:
    operation = api_schema[path][method]

    valid = operation.as_strategy(GenerationMode.POSITIVE)
    invalid = operation.as_strategy(GenerationMode.NEGATIVE)

    @fuzzing
    @given(case=valid | invalid)
    def generated(case: schemathesis.Case) -> None:
        case.call_and_validate(headers=owner, checks=checks_for(case, CHECKS))

    generated()


def test_create_read_and_delete_sequences_follow_the_document(
    api_schema: schemathesis.BaseSchema, owner: dict[str, str]
) -> None:
    seen: Counter[tuple[str, str, int]] = Counter()

    class Machine(api_schema.as_state_machine()):  # type: ignore[misc]
        def get_call_kwargs(self, case: schemathesis.Case) -> dict[str, object]:
            # Items are made anonymously: each gets a fresh random id and a delete token, so
            # a request always gets the same kind of answer (an owner adding the same content
            # twice would get 200 the second time, and Hypothesis wants its runs repeatable).
            return {} if case.method == "POST" else {"headers": owner}

        def validate_response(self, response, case, additional_checks=None, **kwargs) -> None:
            seen[case.method, case.path, response.status_code] += 1
            case.validate_response(response, checks=checks_for(case, STATEFUL_CHECKS))

    Machine.run(
        settings=settings(
            max_examples=30,
            stateful_step_count=8,
            deadline=None,
            # The same sequences every run: whether a random run happens to follow a create with
            # a delete through the link must not decide whether the suite passes.
            derandomize=True,
            suppress_health_check=list(HealthCheck),
        )
    )
    # The links were followed: items were made, then read and deleted (with their delete
    # token) through them; their stats are their owner's only, and they have none.
    assert seen["POST", ITEMS, 201] > 0, seen
    assert seen["GET", ITEM, 200] > 0, seen
    assert seen["DELETE", ITEM, 204] > 0, seen
    assert seen["GET", f"{ITEM}/stats", 200] == 0, seen
