"""The OpenAPI document teaches: every request body and 2xx answer has a complete example
that is valid against its own schema, every field of our models says what it is, every tag
is described, and the description explains how to log in."""

from typing import Any

import httpx
import pytest
from jsonschema import Draft202012Validator

HTTP_METHODS = {"get", "post", "put", "patch", "delete"}
# Schemas FastAPI writes itself (the 422 body, the OAuth2 form's fields).
FASTAPI_OWN = {"HTTPValidationError", "ValidationError", "Body_token_auth_token_post"}
MISSING = object()


@pytest.fixture
async def spec(client: httpx.AsyncClient) -> dict[str, Any]:
    body: dict[str, Any] = (await client.get("/openapi.json")).json()
    return body


def resolve(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        name = schema["$ref"].removeprefix("#/components/schemas/")
        schema = spec["components"]["schemas"][name]
    return schema


def example_of(schema: dict[str, Any], spec: dict[str, Any]) -> Any:
    """The example Swagger UI shows for `schema`: its own, else one made of its fields'
    examples; MISSING when any field has none (Swagger would then show "string")."""
    schema = resolve(schema, spec)
    if "example" in schema:
        return schema["example"]
    if schema.get("examples"):
        return schema["examples"][0]
    if "anyOf" in schema:
        branches = [b for b in schema["anyOf"] if b.get("type") != "null"]
        return example_of(branches[0], spec) if len(branches) == 1 else MISSING
    if schema.get("type") == "array":
        item = example_of(schema["items"], spec)
        return MISSING if item is MISSING else [item]
    if schema.get("type") == "object" and "properties" in schema:
        fields = {name: example_of(prop, spec) for name, prop in schema["properties"].items()}
        return MISSING if MISSING in fields.values() else fields
    return MISSING


def media_example(media: dict[str, Any], spec: dict[str, Any]) -> Any:
    if "example" in media:
        return media["example"]
    if media.get("examples"):
        return next(iter(media["examples"].values()))["value"]
    return example_of(media["schema"], spec)


def bodies(spec: dict[str, Any]) -> list[tuple[str, dict[str, Any], dict[str, Any]]]:
    """(where, media type object, its schema) for every request body and 2xx answer."""
    found = []
    for path, item in spec["paths"].items():
        for method, operation in item.items():
            if method not in HTTP_METHODS:
                continue
            where = f"{method.upper()} {path}"
            for content_type, media in operation.get("requestBody", {}).get("content", {}).items():
                found.append((f"{where} request {content_type}", media, media["schema"]))
            for status, response in operation["responses"].items():
                if status.startswith("2"):
                    for content_type, media in response.get("content", {}).items():
                        found.append((f"{where} {status} {content_type}", media, media["schema"]))
    return found


async def test_every_request_body_and_success_response_has_an_example(
    spec: dict[str, Any],
) -> None:
    found = bodies(spec)
    assert len(found) >= 25, "fewer bodies than the API has"
    lacking = [where for where, media, _ in found if media_example(media, spec) is MISSING]
    assert lacking == []


async def test_every_example_is_valid_against_its_schema(spec: dict[str, Any]) -> None:
    for where, media, schema in bodies(spec):
        example = media_example(media, spec)
        root = {**schema, "components": spec["components"]}
        validator = Draft202012Validator(root, format_checker=Draft202012Validator.FORMAT_CHECKER)
        problems = [error.message for error in validator.iter_errors(example)]
        assert problems == [], f"{where}: {example}"


async def test_every_field_of_our_models_is_described(spec: dict[str, Any]) -> None:
    undescribed = [
        f"{name}.{field}"
        for name, schema in spec["components"]["schemas"].items()
        if name not in FASTAPI_OWN
        for field, prop in schema.get("properties", {}).items()
        if not prop.get("description")
    ]
    assert undescribed == []


async def test_every_tag_is_described(spec: dict[str, Any]) -> None:
    described = {tag["name"] for tag in spec["tags"] if tag.get("description")}
    used = {
        tag
        for item in spec["paths"].values()
        for method, operation in item.items()
        if method in HTTP_METHODS
        for tag in operation["tags"]
    }
    assert used <= described, sorted(used - described)


async def test_the_description_explains_the_auth_flow_and_links_the_socket_protocol(
    spec: dict[str, Any],
) -> None:
    description = spec["info"]["description"]
    for needed in ("/auth/register", "/auth/token", "Authorization: Bearer", "Authorize"):
        assert needed in description
    assert "/asyncapi.yaml" in description
