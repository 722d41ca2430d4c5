"""The plugin's own checks, with almost.testing (run: uv run pytest)."""

import subprocess
import sys

import numpy as np
from PIL import Image

from almost.testing import check_component, load_app


def test_found_through_its_entry_point():
    app = load_app()
    info = next(i for i in app.plugins.values() if i.distribution == "almost-plugname")
    assert not info.broken, info.error
    assert set(info.components) == {"reward/plugname-sharpness", "env/plugname-catch", "sampler/plugname-follow",
                                    "trainer/plugname-reinforce"}


def test_registration_is_lazy():
    """Loading the plugins imports neither the reward module nor torch (a fresh process)."""
    code = "import sys; from almost.testing import load_app; load_app(); print('almost_plugname.reward' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_reward_follows_the_protocol():
    reward = check_component(load_app().registry, "reward/plugname-sharpness")
    flat = Image.new("RGB", (16, 16), (128, 128, 128))
    stripes = Image.fromarray((np.indices((16, 16))[1] % 2 * 255).astype(np.uint8)).convert("RGB")
    scores = reward([flat, stripes], ["a", "b"])
    assert scores[1] > scores[0]


def test_game_follows_the_protocol():
    check_component(load_app().registry, "env/plugname-catch", size=8)


def test_sampler_follows_the_protocol():
    returns = check_component(load_app().registry, "sampler/plugname-follow", follow=1.0).sample([0, 1, 2, 3])
    assert len(returns) == 4 and min(returns) >= 0  # always following: it never misses a ball


def test_pipeline_runs_both_stages_and_its_metric_can_tell_policies_apart(tmp_path):
    """`almost run --plugin plugname` from Python: a policy that follows the ball scores higher."""
    import attrs

    import almost

    cfg = almost.config_for("plugname")
    scores = {}
    for follow in (0.0, 1.0):
        run = attrs.evolve(cfg, play=attrs.evolve(cfg.play, follow=follow, episodes=8))
        metrics = almost.run("plugname", config=run, out=tmp_path / str(follow), quiet=True)
        assert (tmp_path / str(follow) / "play" / "episodes.json").is_file()
        assert metrics["score"]["episodes"] == 8
        scores[follow] = metrics["score"]["mean_return"]
    assert scores[1.0] > scores[0.0] + 0.5, scores


def test_score_without_play_is_one_sentence(tmp_path, capsys):
    from almost.cli import main

    code = main(["run", "--plugin", "plugname", "score", "--out", str(tmp_path)])
    err = capsys.readouterr().err
    assert code != 0 and "stage 'play' has not run" in err and "Traceback" not in err


def test_learn_stage_trains_a_policy_that_beats_random_and_resumes(tmp_path):
    """The trainer, built from the config (learn.trainer), learns; a second fit() trains no further."""
    import almost
    from almost.testing import check_trainer

    metrics = almost.run("plugname", ["learn"], out=tmp_path, quiet=True)
    assert metrics["learn"]["learned_return"] > 0  # a random paddle misses most balls (below 0)
    ctx = type("Ctx", (), {"config": almost.config_for("plugname"), "stage_dir": lambda self: tmp_path / "learn",
                           "log_step": lambda self, step, **v: None})()
    from almost_plugname.trainer import ReinforceTrainer

    assert check_trainer(ReinforceTrainer(ctx, updates=40))["learned_return"] == metrics["learn"]["learned_return"]
