"""Retries with tenacity: 429, 5xx, timeouts and connection errors; never refusals or other 4xx.

Waits honour `Retry-After` / `retry-after-ms` (already parsed into the error's `retry_after`) up to a cap;
without one they back off exponentially with jitter. An upstream that asks for a longer wait than the cap
is not retried: the error goes back at once with `retry_after`, instead of holding the call open only to
be refused again.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import anyio
from gpt_image_mcp.errors import ImageMCPError, RateLimitedError
from gpt_image_mcp.progress import Progress

T = TypeVar("T")
logger = logging.getLogger("gpt_image_mcp_openai")

Sleep = Callable[[float], Awaitable[None]]


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry. `sleep` is injectable so tests need not wait."""

    max_retries: int = 3
    max_wait: float = 60.0
    backoff_base: float = 1.0
    sleep: Sleep = field(default=anyio.sleep, compare=False)

    def backoff(self, retry_number: int) -> float:
        """Exponential backoff with jitter for the n-th retry (1-based): base * 2^(n-1), half of it random."""
        ceiling = min(self.max_wait, self.backoff_base * 2 ** (retry_number - 1))
        return ceiling / 2 + random.uniform(0, ceiling / 2)

    def wait_for(self, error: ImageMCPError, retry_number: int) -> float:
        if error.retry_after is not None:
            return min(error.retry_after, self.max_wait)
        return self.backoff(retry_number)

    def should_retry(self, error: BaseException) -> bool:
        return (
            isinstance(error, ImageMCPError)
            and error.retryable
            and (error.retry_after is None or error.retry_after <= self.max_wait)
        )


async def call_with_retries(
    attempt: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    progress: Progress,
    provider: str,
) -> T:
    """Run `attempt` (which raises core errors only) until it succeeds or retrying is pointless."""
    from gpt_image_mcp.metrics import record_upstream_request, record_upstream_retry
    from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt

    async def counted() -> T:
        try:
            result = await attempt()
        except ImageMCPError as error:
            record_upstream_request(provider, error.code)
            raise
        record_upstream_request(provider, "ok")
        return result

    def wait(state: RetryCallState) -> float:
        return policy.wait_for(_error_of(state), state.attempt_number)

    async def before_sleep(state: RetryCallState) -> None:
        error = _error_of(state)
        seconds = state.upcoming_sleep
        reason = error.code + (f" (HTTP {error.http_status})" if error.http_status else "")
        retry = f"retry {state.attempt_number} of {policy.max_retries}"
        logger.info("%s call failed with %s; %s in %.2f s", provider, reason, retry, seconds)
        record_upstream_retry(provider, error.code)
        await progress.stage(f"{provider} failed with {reason}; {retry} in {seconds:.0f} s")

    retrying = AsyncRetrying(
        stop=stop_after_attempt(policy.max_retries + 1),
        wait=wait,
        retry=retry_if_exception(policy.should_retry),
        before_sleep=before_sleep,
        sleep=policy.sleep,
        reraise=True,
    )
    try:
        return await retrying(counted)
    except ImageMCPError as error:
        attempts = retrying.statistics.get("attempt_number", 1)
        if error.retryable and attempts > 1:
            _note_gave_up(error, attempts, policy)
        raise


def _error_of(state: object) -> ImageMCPError:
    outcome = getattr(state, "outcome", None)
    error = outcome.exception() if outcome is not None else None
    if not isinstance(error, ImageMCPError):
        raise AssertionError("retries are only decided on core errors")  # retry predicate guarantees this
    return error


def _note_gave_up(error: ImageMCPError, attempts: int, policy: RetryPolicy) -> None:
    message = f"{error.message.rstrip('. ')}. Gave up after {attempts} attempts."
    if isinstance(error, RateLimitedError) and error.retry_after is None:
        error.retry_after = round(policy.backoff(attempts), 1)
        message += f" Wait about {max(1, round(error.retry_after))} s before trying again."
    error.message = message
    error.args = (message,)
