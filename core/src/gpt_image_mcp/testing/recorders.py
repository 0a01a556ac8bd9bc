"""Stand-ins for provider unit tests: a progress that records, a retry sleep that returns at once."""

from __future__ import annotations

from gpt_image_mcp.progress import Progress
from gpt_image_mcp.types import GeneratedImage


class RecordingProgress(Progress):
    """Records every stage message and every partial image a provider reports."""

    def __init__(self) -> None:
        self.stages: list[str] = []
        self.partials: list[tuple[int, GeneratedImage]] = []

    async def stage(self, message: str) -> None:
        self.stages.append(message)

    async def partial_image(self, image: GeneratedImage, index: int) -> None:
        self.partials.append((index, image))


class RecordingSleep:
    """Stands in for the wait between retries: records each requested wait and returns at once."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)
