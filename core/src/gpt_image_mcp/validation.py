"""Check a request against a model's capabilities before any provider is called.

Every problem is collected, so one error tells the caller everything to fix, and each message says what
would be accepted instead.
"""

from __future__ import annotations

import re

from gpt_image_mcp.capabilities import ModelCapabilities, SizeRules
from gpt_image_mcp.errors import InvalidRequestError, UnsupportedOperationError, brief
from gpt_image_mcp.types import EditRequest, ImageOptions, Operation

_SIZE_PATTERN = re.compile(r"^\s*(\d{1,6})\s*[x×X*]\s*(\d{1,6})\s*$")

# Limits applied to models that are not in the table (new upstream models work on day one).
GENERIC_MAX_N = 10
GENERIC_MAX_PROMPT_CHARS = 32000
GENERIC_MAX_PARTIAL_IMAGES = 3
COMPRESSIBLE_FORMATS = ("jpeg", "webp")


def normalise_size(size: str | None) -> str | None:
    """'1536×1024', '1536 X 1024' -> '1536x1024'; 'auto' stays; None stays. Raises on anything else."""
    if size is None:
        return None
    if size.strip().lower() == "auto":
        return "auto"
    match = _SIZE_PATTERN.match(size)
    if not match:
        raise InvalidRequestError(
            f"size {brief(size)} is not a size: write it as WIDTHxHEIGHT, e.g. 1024x1024 or 1536x1024, or 'auto'"
        )
    return f"{int(match.group(1))}x{int(match.group(2))}"


def size_problems(width: int, height: int, rules: SizeRules) -> list[str]:
    """Why WxH breaks the rule set (empty when it obeys every rule)."""
    problems: list[str] = []
    if rules.multiple_of and (width % rules.multiple_of or height % rules.multiple_of):
        bad = [f"{name} {value}" for name, value in (("width", width), ("height", height)) if value % rules.multiple_of]
        problems.append(f"{' and '.join(bad)} must be a multiple of {rules.multiple_of}")
    if rules.min_edge is not None and min(width, height) < rules.min_edge:
        problems.append(f"each edge must be at least {rules.min_edge} px")
    if rules.max_edge is not None and max(width, height) > rules.max_edge:
        problems.append(f"each edge must be at most {rules.max_edge} px (got {max(width, height)})")
    if rules.max_ratio is not None and min(width, height) > 0:
        ratio = max(width, height) / min(width, height)
        if ratio > rules.max_ratio:
            problems.append(f"the long edge may be at most {rules.max_ratio:g}x the short edge (got {ratio:.2f})")
    pixels = width * height
    if rules.min_pixels is not None and pixels < rules.min_pixels:
        problems.append(f"it needs at least {rules.min_pixels:,} pixels (got {pixels:,})")
    if rules.max_pixels is not None and pixels > rules.max_pixels:
        problems.append(f"it may have at most {rules.max_pixels:,} pixels (got {pixels:,})")
    return problems


def _nearest_valid(width: int, height: int, rules: SizeRules) -> str | None:
    step = rules.multiple_of or 1
    candidates = sorted(
        {(w, h) for w in _neighbours(width, step) for h in _neighbours(height, step)},
        key=lambda wh: abs(wh[0] - width) + abs(wh[1] - height),
    )
    for w, h in candidates:
        if (w, h) != (width, height) and not size_problems(w, h, rules):
            return f"{w}x{h}"
    return None


def _neighbours(value: int, step: int) -> list[int]:
    lower = max(step, value - value % step)
    return [lower, lower + step] if value % step else [value]


def check_size(size: str | None, caps: ModelCapabilities) -> list[str]:
    """Problems with a normalised size for this model."""
    if size is None:
        return []
    rules = caps.sizes
    if size == "auto":
        return [] if rules.allow_auto else [f"size auto is not accepted by {caps.name}; {_size_hint(caps)}"]
    if size in rules.presets:
        return []
    width, height = (int(part) for part in size.split("x"))
    if not rules.has_rules:
        return [f"size {size} is not accepted by {caps.name}; {_size_hint(caps)}"]
    problems = size_problems(width, height, rules)
    if not problems:
        return []
    nearest = _nearest_valid(width, height, rules)
    suggestion = f"; the nearest valid size is {nearest}" if nearest else ""
    return [f"size {size} is not accepted by {caps.name}: {'; '.join(problems)}{suggestion}"]


def _size_hint(caps: ModelCapabilities) -> str:
    options = list(caps.sizes.presets) + (["auto"] if caps.sizes.allow_auto else [])
    return "use one of " + ", ".join(options)


def _choice_problem(field: str, value: str | None, allowed: list[str], model: str) -> list[str]:
    if value is None or value in allowed:
        return []
    if not allowed:
        return [f"{field} is not supported by {model}; leave it out"]
    return [f"{field} {brief(value)} is not accepted by {model}; use one of {', '.join(allowed)}"]


def check_request(request: ImageOptions, operation: Operation, caps: ModelCapabilities | None) -> None:
    """Raise `InvalidRequestError` listing every rule the request breaks (None caps: generic checks)."""
    if caps is not None and caps.retired:
        raise InvalidRequestError(caps.retirement_message(), model=request.model)
    if caps is not None and not caps.supports(operation):
        supported = ", ".join(sorted(op.value for op in caps.operations)) or "nothing"
        hint = " Use image_edit with the image and a prompt instead." if operation is Operation.VARIATION else ""
        raise UnsupportedOperationError(
            f"model {caps.name} does not support {operation.value} (it supports: {supported}).{hint}",
            model=request.model,
        )
    problems = _common_problems(request, caps)
    if caps is not None:
        problems += check_size(request.size, caps)
        problems += _choice_problem("quality", request.quality, caps.qualities, caps.name)
        problems += _choice_problem("background", request.background, caps.backgrounds, caps.name)
        problems += _choice_problem("output_format", request.output_format, caps.output_formats, caps.name)
        problems += _choice_problem("moderation", request.moderation, caps.moderation, caps.name)
    if isinstance(request, EditRequest):
        problems += _edit_problems(request, caps)
    if problems:
        model = f" for {request.model}" if request.model else ""
        raise InvalidRequestError(f"invalid request{model}: " + "; ".join(problems), model=request.model)


def _common_problems(request: ImageOptions, caps: ModelCapabilities | None) -> list[str]:
    problems: list[str] = []
    max_partial = caps.max_partial_images if caps else GENERIC_MAX_PARTIAL_IMAGES
    if request.partial_images is not None and not 0 <= request.partial_images <= max_partial:
        where = f" for {caps.name}" if caps else ""
        problems.append(f"partial_images must be between 0 and {max_partial}{where} (got {request.partial_images})")
    max_n = caps.max_n if caps else GENERIC_MAX_N
    if not 1 <= request.n <= max_n:
        problems.append(f"n must be between 1 and {max_n} (got {request.n})")
    prompt = getattr(request, "prompt", None)
    if prompt is not None:
        max_chars = caps.max_prompt_chars if caps else GENERIC_MAX_PROMPT_CHARS
        if not prompt.strip():
            problems.append("prompt is empty: describe the image you want")
        elif len(prompt) > max_chars:
            problems.append(f"prompt has {len(prompt):,} characters; the maximum is {max_chars:,}")
    if request.output_compression is not None:
        if not 0 <= request.output_compression <= 100:
            problems.append(f"output_compression must be between 0 and 100 (got {request.output_compression})")
        elif request.output_format not in COMPRESSIBLE_FORMATS:
            problems.append("output_compression applies only to output_format jpeg or webp")
    if request.background == "transparent" and request.output_format == "jpeg":
        problems.append("a transparent background needs output_format png or webp (jpeg has no alpha)")
    return problems


def _edit_problems(request: EditRequest, caps: ModelCapabilities | None) -> list[str]:
    problems: list[str] = []
    limit = caps.max_edit_images if caps else 16
    if not request.images:
        problems.append("give at least one input image (image or images)")
    elif len(request.images) > limit:
        problems.append(f"at most {limit} input images are accepted (got {len(request.images)})")
    if caps is not None:
        problems += _choice_problem("input_fidelity", request.input_fidelity, caps.input_fidelity, caps.name)
    if request.mask is not None and request.images:
        first = request.images[0]
        if request.mask.mime_type != "image/png" or not request.mask.has_alpha:
            problems.append("mask must be a PNG with an alpha channel (transparent where the image may change)")
        if (request.mask.width, request.mask.height) != (first.width, first.height):
            problems.append(
                f"mask is {request.mask.width}x{request.mask.height} but the first image is "
                f"{first.width}x{first.height}; they must match"
            )
    return problems
