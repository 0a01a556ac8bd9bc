"""The capability table: shipped data, layers from plugins and users, and clear errors for bad files."""

from __future__ import annotations

from pathlib import Path

import pytest
from gpt_image_mcp.capabilities import ModelTable
from gpt_image_mcp.errors import ConfigurationError
from gpt_image_mcp.types import Operation


def test_shipped_table_describes_current_models() -> None:
    table = ModelTable.default()
    gpt2 = table.get("gpt-image-2")
    assert gpt2 is not None
    assert gpt2.max_n == 10 and gpt2.max_edit_images == 16 and gpt2.sizes.multiple_of == 16
    flare = table.get("gpt-image-2.5-flare")
    assert flare is not None and {"xhigh", "max"} <= set(flare.qualities)
    assert flare.sizes == gpt2.sizes  # inherited with `extends`
    assert table.get("gpt-image-1.5").shutdown_date.isoformat() == "2026-12-01"  # type: ignore[union-attr]
    for retired in ("gpt-image-1", "dall-e-2", "dall-e-3"):
        assert table.get(retired).retired  # type: ignore[union-attr]
    assert not any(Operation.VARIATION in m.operations for m in table if not m.retired)


def test_user_file_overrides_one_field_and_adds_models(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_text(
        '[models."gpt-image-2"]\nbackgrounds = ["auto", "opaque", "transparent"]\n'
        '[models."gpt-image-2".sizes]\nmax_edge = 4096\n'
        '[models."gpt-image-3"]\nextends = "gpt-image-2"\nmax_n = 4\n'
    )
    table = ModelTable.default().with_file(path)
    gpt2 = table.get("gpt-image-2")
    assert gpt2 is not None and "transparent" in gpt2.backgrounds
    assert gpt2.sizes.max_edge == 4096 and gpt2.sizes.multiple_of == 16  # nested tables merge
    gpt3 = table.get("gpt-image-3")
    assert gpt3 is not None and gpt3.max_n == 4 and gpt3.max_edit_images == 16


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not toml [", "cannot be read"),
        ("[other]\nx = 1\n", "has no [models"),
        ('[models."m"]\nmax_n = "many"\n', "models.m.max_n"),
        ('[models."m"]\nwhatever = 1\n', "models.m.whatever"),
        ('[models."m"]\nextends = "nothing"\n', "unknown model 'nothing'"),
        ('[models."a"]\nextends = "b"\n[models."b"]\nextends = "a"\n', "a cycle"),
    ],
)
def test_bad_user_files_are_configuration_errors(tmp_path: Path, content: str, message: str) -> None:
    path = tmp_path / "models.toml"
    path.write_text(content)
    with pytest.raises(ConfigurationError, match=message.replace("[", r"\[")):
        ModelTable.default().with_file(path)


def test_missing_user_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ConfigurationError, match="does not exist"):
        ModelTable.default().with_file(tmp_path / "nope.toml")


def test_a_capabilities_file_that_is_not_text_is_a_configuration_error(tmp_path: Path) -> None:
    path = tmp_path / "models.toml"
    path.write_bytes(b"\xff\xfe[models]")
    with pytest.raises(ConfigurationError, match="is not UTF-8 text"):
        ModelTable.default().with_file(path)
    with pytest.raises(ConfigurationError, match="is not a regular file"):
        ModelTable.default().with_file(Path("/dev/zero"))
