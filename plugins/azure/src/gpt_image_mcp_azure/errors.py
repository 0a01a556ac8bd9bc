"""Azure-specific error messages: content filters, keys versus identities, RBAC, deployments, api-versions."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from gpt_image_mcp.errors import (
    AuthenticationError,
    ImageMCPError,
    InvalidRequestError,
    NotFoundError,
    PermissionDeniedError,
    RefusedError,
)
from gpt_image_mcp_openai.errors import ErrorContext, error_code, map_openai_error, upstream_reason

#: Codes Azure uses when its content filters block a prompt, an input image or a generated image.
CONTENT_FILTER_CODES = frozenset(
    {"content_policy_violation", "ResponsibleAIPolicyViolation", "content_filter", "contentFilter"}
)


@dataclass(frozen=True)
class AzureTarget:
    """Where the call went, for messages."""

    endpoint: str
    deployment: str
    api_version: str
    route: str
    uses_key: bool
    credential: str


def filter_categories(exc: BaseException) -> list[str]:
    """Names of the content-filter categories that blocked the request (e.g. ['sexual', 'violence'])."""
    body = getattr(exc, "body", None)
    if not isinstance(body, Mapping):
        return []
    found: list[str] = []
    for holder in (body, body.get("inner_error"), body.get("innererror"), body.get("error")):
        if not isinstance(holder, Mapping):
            continue
        results = holder.get("content_filter_results") or holder.get("content_filter_result")
        found += _filtered(results)
    return list(dict.fromkeys(found))


def _filtered(results: Any) -> list[str]:
    if not isinstance(results, Mapping):
        return []
    names = []
    for name, result in results.items():
        if isinstance(result, Mapping) and (result.get("filtered") or result.get("detected") is True):
            severity = result.get("severity")
            names.append(f"{name} ({severity})" if isinstance(severity, str) and severity != "safe" else str(name))
    return names


def map_azure_error(exc: BaseException, context: ErrorContext, target: AzureTarget) -> ImageMCPError:
    """Classify an `openai` SDK exception raised by an Azure OpenAI call."""
    error = map_openai_error(exc, context)
    code = error_code(exc)
    reason = upstream_reason(exc, context.secrets)
    status = error.http_status
    fields: dict[str, Any] = {
        "provider": context.provider,
        "model": context.model,
        "http_status": status,
        "request_id": error.request_id,
    }
    if code in CONTENT_FILTER_CODES or isinstance(error, RefusedError):
        categories = filter_categories(exc)
        which = f" in the categories {', '.join(categories)}" if categories else ""
        return RefusedError(
            f"Azure OpenAI's content filter blocked this request{which} ({code or 'content filter'}: {reason}). "
            "Rephrase the prompt or change the input images; sending the same request again will not help. "
            "The filter's strictness is set on the deployment's content filter policy in the Azure AI Foundry portal.",
            **fields,
        )
    where = f"deployment {target.deployment} at {target.endpoint}"
    if status == 401:
        if target.uses_key:
            hint = (
                "Check AZURE_OPENAI_API_KEY: it must be key 1 or 2 of this resource (Keys and Endpoint), and "
                "AZURE_OPENAI_ENDPOINT must be the same resource."
            )
        else:
            hint = (
                f"The Entra ID token from {target.credential} was refused: check that the identity belongs to the "
                "resource's tenant, that AZURE_OPENAI_ENDPOINT is the resource's own endpoint (custom subdomain, "
                "e.g. https://my-resource.openai.azure.com), and for a user-assigned identity that AZURE_CLIENT_ID "
                "names it; or set AZURE_OPENAI_API_KEY to use a key."
            )
        return AuthenticationError(f"Azure OpenAI rejected the credentials (HTTP 401): {reason}. {hint}", **fields)
    if status == 403:
        who = "this key" if target.uses_key else f"the identity of {target.credential}"
        return PermissionDeniedError(
            f"Azure OpenAI refused access to {where} (HTTP 403): {reason}. Give {who} the role "
            "'Cognitive Services OpenAI User' on the resource (role assignments take a few minutes to apply), and "
            "check the resource's network rules. gpt-image-1 and gpt-image-1.5 are limited-access models: the "
            "subscription needs an approved access application (Microsoft's limited-access form for the model).",
            **fields,
        )
    if status == 404:
        route = (
            f"Check AZURE_OPENAI_DEPLOYMENT (the deployment name, not the model name) and that "
            f"AZURE_OPENAI_API_VERSION={target.api_version} supports image generation"
            if target.route == "deployment"
            else "Check AZURE_OPENAI_DEPLOYMENT; the v1 route may not serve image models yet: try "
            "AZURE_OPENAI_ROUTE=deployment"
        )
        return NotFoundError(f"Azure OpenAI could not find {where} (HTTP 404): {reason}. {route}.", **fields)
    if status == 400 and code in {"unknown_model", "model_not_found", "DeploymentNotFound"}:
        v1 = "; the v1 route may not serve image models yet: try AZURE_OPENAI_ROUTE=deployment"
        return NotFoundError(
            f"Azure OpenAI does not know {where} on the {target.route} route (HTTP 400, {code}): {reason}. "
            f"Check AZURE_OPENAI_DEPLOYMENT{v1 if target.route == 'v1' else ''}.",
            **fields,
        )
    if status == 400 and "api version" in reason.lower():
        return InvalidRequestError(
            f"Azure OpenAI does not accept api-version {target.api_version} (HTTP 400): {reason}. "
            "Set AZURE_OPENAI_API_VERSION to a version that supports images, e.g. 2025-04-01-preview.",
            **fields,
        )
    return error
