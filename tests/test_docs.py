"""The documentation keeps up with the code: settings, hooks, the public API, links and the tutorial's code."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import gpt_image_mcp
import pytest
from gpt_image_mcp import hookspecs
from gpt_image_mcp.settings import Settings
from pydantic import AliasChoices
from pydantic_settings import BaseSettings

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
MARKDOWN = [*sorted(DOCS.glob("*.md")), ROOT / "README.md"]
LINK = re.compile(r"(?<!!)\[[^\]]*\]\(([^)\s]+)(?:\s+\"[^\"]*\")?\)")
FENCE = re.compile(r"^```[^\n]*\n(.*?)^```", re.MULTILINE | re.DOTALL)


def read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def env_names(settings: type[BaseSettings]) -> dict[str, list[str]]:
    """{field: its environment variable names} (the upper-case choices of the validation alias)."""
    names = {}
    for field, info in settings.model_fields.items():
        alias = info.validation_alias
        choices = alias.choices if isinstance(alias, AliasChoices) else [alias or field]
        names[field] = [str(choice) for choice in choices if str(choice).isupper()]
    return names


def test_every_setting_is_in_configuration_md() -> None:
    text = read("configuration.md")
    fields = env_names(Settings)
    assert len(fields) >= 30 and all(fields.values())
    missing = [f"{field} ({name})" for field, names in fields.items() for name in names if f"`{name}`" not in text]
    assert not missing, f"configuration.md does not document: {', '.join(missing)}"


def test_every_plugin_setting_is_in_configuration_md() -> None:
    from gpt_image_mcp_azure.settings import AzureSettings
    from gpt_image_mcp_custom.settings import CustomSettings
    from gpt_image_mcp_openai.settings import OpenAISettings
    from gpt_image_mcp_s3.settings import S3Settings
    from gpt_image_mcp_together.settings import TogetherSettings

    text = read("configuration.md")
    missing = [
        f"{settings.__name__}.{field} ({name})"
        for settings in (OpenAISettings, AzureSettings, TogetherSettings, CustomSettings, S3Settings)
        for field, names in env_names(settings).items()
        for name in names
        if name.startswith(("OPENAI_", "AZURE_", "TOGETHER_", "CUSTOM_", "S3_", "MAX_", "RETRY_"))
        and f"`{name}`" not in text
    ]
    assert not missing, f"configuration.md does not document: {', '.join(missing)}"


def hookspec_functions() -> list[object]:
    marker = f"{hookspecs.PROJECT_NAME}_spec"
    return [obj for _, obj in inspect.getmembers(hookspecs, inspect.isfunction) if hasattr(obj, marker)]


def test_there_are_hookspecs_to_check() -> None:
    assert {function.__name__ for function in hookspec_functions()} >= {"register_providers", "register_sinks"}


@pytest.mark.parametrize("hook", hookspec_functions(), ids=lambda hook: hook.__name__)
def test_every_hook_has_a_docstring_and_a_section_in_plugins_md(hook) -> None:
    doc = inspect.getdoc(hook)
    assert doc and doc.strip(), f"hookspec {hook.__name__} has no docstring"
    params = ", ".join(inspect.signature(hook).parameters)
    heading = f"### `{hook.__name__}({params})`"
    text = read("plugins.md")
    assert heading in text, f"plugins.md has no section {heading!r}"
    section = text.split(heading, 1)[1].split("\n## ", 1)[0].split("\n### ", 1)[0]
    assert doc.splitlines()[0] in section, f"the section of {hook.__name__} does not quote its docstring"


def test_every_public_name_is_documented_in_plugins_md() -> None:
    text = read("plugins.md")
    missing = [name for name in gpt_image_mcp.__all__ if f"`{name}`" not in text]
    assert not missing, f"plugins.md does not document: {', '.join(missing)}"


def slug(heading: str) -> str:
    """GitHub's anchor for a heading."""
    text = re.sub(r"[`*_]", "", heading.strip().lower())
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def anchors(path: Path) -> set[str]:
    text = FENCE.sub("", path.read_text(encoding="utf-8"))
    return {slug(match.group(1)) for match in re.finditer(r"^#{1,6}\s+(.+?)\s*$", text, re.MULTILINE)}


@pytest.mark.parametrize("document", MARKDOWN, ids=lambda path: path.relative_to(ROOT).as_posix())
def test_relative_links_point_to_existing_files(document: Path) -> None:
    text = FENCE.sub("", document.read_text(encoding="utf-8"))
    broken = []
    for target in LINK.findall(text):
        if re.match(r"^[a-z][a-z0-9+.\-]*:", target, re.IGNORECASE):
            continue  # http:, https:, mailto:
        path_part, _, fragment = target.partition("#")
        resolved = (document.parent / path_part).resolve() if path_part else document
        if not resolved.exists():
            broken.append(f"{target} (no file {resolved})")
        elif fragment and resolved.suffix == ".md" and fragment not in anchors(resolved):
            broken.append(f"{target} (no heading #{fragment})")
    assert not broken, f"{document.name}: broken links: {broken}"


def test_the_link_checker_sees_links() -> None:
    found = LINK.findall(read("plugins.md"))
    assert "sinks.md" in found and "#conformance-kit" in found


def test_the_tutorial_code_is_the_example_code() -> None:
    """Blocks starting with `# from <path>` must appear verbatim in that file."""
    blocks = [block for block in FENCE.findall(read("plugins.md")) if block.startswith("# from ")]
    assert len(blocks) >= 6
    for block in blocks:
        first, _, code = block.partition("\n")
        source = (ROOT / first.removeprefix("# from ").strip()).read_text(encoding="utf-8")
        assert code.strip("\n") in source, f"plugins.md quotes code that is not in {first}:\n{code}"


def test_every_doc_is_reachable_from_the_architecture_page() -> None:
    linked = {Path(target.partition("#")[0]).name for target in LINK.findall(read("architecture.md"))}
    expected = {path.name for path in DOCS.glob("*.md")} - {"architecture.md", "performance.md"}
    assert expected <= linked, f"architecture.md does not link {sorted(expected - linked)}"
