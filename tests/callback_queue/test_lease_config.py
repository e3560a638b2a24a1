"""The lease that holds an answered queue callback (`[callbacks] survey_lease_s`) must outlast
the longest wait in the agents' queue (`[ivr] queue_timeout_s`): otherwise a citizen still
waiting for an agent would be handed to another dispatcher as if theirs had gone. Each section
is valid alone; the pair is refused, with both keys and their values named."""

from __future__ import annotations

import pytest

from callback_queue.config import CallbacksConfig, check_against_ivr
from hotline.config import ConfigError, IvrConfig, load_config


def test_the_defaults_agree():
    check_against_ivr(CallbacksConfig(), IvrConfig())  # 900 s against 600 s


def test_a_lease_longer_than_the_queue_wait_is_accepted():
    check_against_ivr(CallbacksConfig(survey_lease_s=601), IvrConfig(queue_timeout_s=600))


@pytest.mark.parametrize("lease, wait", [(600, 600), (300, 600), (900, 1200)])
def test_a_lease_not_longer_than_the_queue_wait_is_refused_naming_both_keys(lease, wait):
    with pytest.raises(ConfigError) as error:
        check_against_ivr(CallbacksConfig(survey_lease_s=lease), IvrConfig(queue_timeout_s=wait))
    assert str(error.value).startswith(
        f"callbacks.survey_lease_s ({lease}) must be longer than ivr.queue_timeout_s ({wait})")


def test_the_pair_is_checked_whichever_way_each_value_was_given(tmp_path):
    path = tmp_path / "hotline.toml"
    path.write_text("[ivr]\nqueue_timeout_s = 1200\n", encoding="utf-8")
    config = load_config(path, environ={"HOTLINE_CALLBACKS_SURVEY_LEASE_S": "1000"})
    with pytest.raises(ConfigError, match=r"callbacks\.survey_lease_s \(1000\) must be longer "
                                          r"than ivr\.queue_timeout_s \(1200\)"):
        check_against_ivr(config.callbacks, config.ivr)
    check_against_ivr(load_config(path, environ={"HOTLINE_CALLBACKS_SURVEY_LEASE_S": "1500"})
                      .callbacks, config.ivr)


def test_the_callback_queue_is_not_built_with_a_lease_shorter_than_the_queues_wait():
    """The check runs where the queue is built (the service's start), not only when asked."""
    from types import SimpleNamespace

    import callback_queue
    from hotline.config import Config

    config = Config()
    short = CallbacksConfig(survey_lease_s=300.0)
    core = SimpleNamespace(config=config)
    with pytest.raises(ConfigError, match="survey_lease_s"):
        callback_queue.build(core, None, short)
