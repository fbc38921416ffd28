"report_to: validation, and an FST run mirrored to TensorBoard read back with TensorBoard's event reader."
import importlib.util
from pathlib import Path
import pytest
from fst_nb.core import ConfigError
from fst_nb import track
from fst_nb.track import check_report_to, make_tracker

def test_report_to_names_the_valid_values():
    with pytest.raises(ConfigError, match="'wandbb' is not valid; valid: 'none', 'all', 'tensorboard', 'wandb', 'trackio'"):
        check_report_to('wandbb')
    assert check_report_to('none') == [] and check_report_to('tensorboard, tensorboard') == ['tensorboard']

def test_missing_package_says_what_to_install(monkeypatch):
    monkeypatch.setattr(track, '_installed', lambda n: n == 'tensorboard')
    with pytest.raises(ConfigError, match=r"needs the 'trackio' package: `pip install trackio`"): check_report_to('trackio')
    assert check_report_to('all') == ['tensorboard']
    monkeypatch.setattr(track, '_installed', lambda n: False)
    with pytest.raises(ConfigError, match="none of tensorboard, wandb, trackio is installed"): check_report_to('all')

def test_fst_config_validates_report_to():
    from fst_nb.fst import FSTConfig
    assert FSTConfig().report_to == 'none'
    with pytest.raises(ConfigError, match='valid:'): FSTConfig(report_to='mlflow')
    if importlib.util.find_spec('wandb') is None:
        with pytest.raises(ConfigError, match='pip install wandb'): FSTConfig(report_to='wandb')

def test_fst_run_mirrors_rows_to_tensorboard(tmp_path):
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator
    from fst_nb.fst import FSTConfig, FSTRun
    cfg = FSTConfig(mode='rl', rl_steps=2, problems=2, G=4, pool_k=2, max_new_tokens=8, eval_problems=4, verbose=False,
                    report_to='tensorboard')
    run = FSTRun.create(cfg, root=tmp_path, name='r')
    run.evaluate(); run.rl_step(); run.rl_step()
    rows = run.run_dir.read()
    ea = EventAccumulator(str(Path(run.run_dir.path)/'tb')); ea.Reload()
    train = [r for r in rows if r['kind'] == 'train']
    assert [(e.step, round(e.value, 6)) for e in ea.Scalars('train/reward_mean')] == \
           [(r['samples_seen'], round(r['reward_mean'], 6)) for r in train]
    ev = [r for r in rows if r['kind'] == 'eval']
    tag = f"eval/{ev[0]['task']}:{ev[0]['preset']}/seed/reward_mean"
    assert [e.value for e in ea.Scalars(tag)] == pytest.approx([ev[0]['reward_mean']])
    assert 'config/text_summary' in ea.Tags()['tensors']               # the run's config, as text
