"""The prompt catalogue loader and the espeak-ng/sox builder."""

import shutil
import wave

import pytest

from ivr.prompts import (
    PromptBuildError,
    PromptCatalog,
    PromptCatalogError,
    build_prompts,
    load_catalog,
    parse_catalog,
    prompt_ids,
)

NEEDED = {
    "greeting", "main-menu", "invalid-input", "no-input", "transfer-agent", "sorry-technical",
    "queue-long-callback", "callback-confirmed", "enter-case-number", "case-not-found",
    "status-received", "status-assigned", "status-in-progress", "status-resolved-on",
    "open-appeal-notice", "after-hours", "leave-message", "message-saved", "thanks-goodbye",
    "survey-question", "survey-thanks",
}


def test_packaged_catalogue_loads_and_holds_every_prompt_the_hotline_needs():
    catalog = load_catalog()
    assert NEEDED <= prompt_ids()
    assert "110" in catalog["greeting"].zh and "dial 110" in catalog["greeting"].en
    menu = catalog["main-menu"].zh
    for word in ("咨询", "求助", "投诉举报", "办理进度", "留言", "人工", "星号"):
        assert word in menu
    survey = catalog["survey-question"].zh
    assert "满意请按1" in survey and "基本满意请按2" in survey and "不满意请按3" in survey


@pytest.mark.parametrize(
    "text, complaint",
    [
        ("this is = not toml [", "not valid TOML"),
        ("", "no [[prompt]] entries"),
        ('[greeting]\nzh="x"\nen="y"\n', "unexpected top-level keys"),
        ('[[prompt]]\nid="greeting"\nzh="你好"\n', "missing ['en']"),
        ('[[prompt]]\nid="Greeting!"\nzh="你好"\nen="hi"\n', "lower-case words joined by hyphens"),
        ('[[prompt]]\nid="main_menu"\nzh="你好"\nen="hi"\n', "lower-case words joined by hyphens"),
        ('[[prompt]]\nid="a"\nzh="你好"\nen="hi"\n[[prompt]]\nid="a"\nzh="再见"\nen="bye"\n', "duplicate id"),
        ('[[prompt]]\nid="a"\nzh="  "\nen="hi"\n', "zh text must be a non-empty string"),
        ('[[prompt]]\nid="a"\nzh="你好"\nen="hi"\nvoice="x"\n', "unknown keys ['voice']"),
    ],
)
def test_malformed_catalogue_is_rejected_with_a_message_naming_the_problem(text, complaint):
    with pytest.raises(PromptCatalogError) as error:
        parse_catalog(text, "bad.toml")
    assert complaint in str(error.value)
    assert "bad.toml" in str(error.value)


def test_malformed_catalogue_file_names_the_entry(tmp_path):
    path = tmp_path / "catalog.toml"
    path.write_text('[[prompt]]\nid="ok"\nzh="好"\nen="ok"\n[[prompt]]\nid="second"\nzh="二"\n', encoding="utf-8")
    with pytest.raises(PromptCatalogError, match=r"prompt #2 \('second'\): missing \['en'\]"):
        load_catalog(path)


tools_missing = shutil.which("espeak-ng") is None or shutil.which("sox") is None
needs_tools = pytest.mark.skipif(
    tools_missing, reason="espeak-ng and sox are not installed (apt-get install -y espeak-ng sox)"
)


def small_catalog():
    full = load_catalog()
    return PromptCatalog("test", (full["invalid-input"], full["survey-thanks"]))


@needs_tools
def test_builder_writes_8khz_16bit_mono_wav_files(tmp_path):
    report = build_prompts(small_catalog(), tmp_path / "sounds")
    assert report.built == ["invalid-input", "survey-thanks"]
    for prompt_id in report.built:
        with wave.open(str(tmp_path / "sounds" / f"{prompt_id}.wav"), "rb") as wav:
            assert wav.getframerate() == 8000
            assert wav.getnchannels() == 1
            assert wav.getsampwidth() == 2
            assert wav.getnframes() > 8000 * 0.5  # at least half a second of speech


@needs_tools
def test_builder_skips_up_to_date_files_and_keeps_site_recordings(tmp_path):
    sounds = tmp_path / "sounds"
    build_prompts(small_catalog(), sounds)
    (sounds / "survey-thanks.wav").write_bytes(b"RIFF a site recording")
    report = build_prompts(small_catalog(), sounds)
    assert report.built == []
    assert report.up_to_date == ["invalid-input"]
    assert report.kept_site_recordings == ["survey-thanks"]
    assert (sounds / "survey-thanks.wav").read_bytes() == b"RIFF a site recording"


@needs_tools
def test_builder_rebuilds_a_prompt_whose_text_changed(tmp_path):
    sounds = tmp_path / "sounds"
    build_prompts(small_catalog(), sounds)
    changed = parse_catalog('[[prompt]]\nid="invalid-input"\nzh="输入无效。"\nen="Invalid."\n')
    assert build_prompts(changed, sounds).built == ["invalid-input"]


def test_builder_reports_a_missing_tool_by_name(tmp_path):
    with pytest.raises(PromptBuildError, match="no-such-espeak is not installed"):
        build_prompts(small_catalog(), tmp_path, espeak="no-such-espeak")
