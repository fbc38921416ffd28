"Analysis functions on synthetic runs whose answers are known."
import math
import numpy as np
import pytest
from fst_nb.analysis import (Run, load_runs, synthetic_run, curve, samples_to_threshold, threshold_ratio, kl_at_reward,
                             fit_runs, fit_saturating, saturating, forgetting_matrix, plasticity, bootstrap, summarize,
                             summary_markdown)
from fst_nb.core import RunDir

def R(A, c_mid, B, R0):
    return lambda s: float(saturating(s, A, c_mid, B, R0))

@pytest.mark.parametrize('threshold', [.2, .35, .5, .65])
@pytest.mark.parametrize('x', ['samples', 'rollouts'])
def test_known_3x_shift_gives_ratio_3(threshold, x):
    slow = [synthetic_run(R(.8, 600, 1.5, .05), per_cycle=64, seed=i) for i in range(3)]
    fast = [synthetic_run(R(.8, 200, 1.5, .05), per_cycle=64, seed=i, mode='fst', pool=True) for i in range(3)]
    assert threshold_ratio(slow, fast, threshold, x=x) == pytest.approx(3, abs=.1)

def test_gepa_calls_count_on_the_rollouts_axis():
    fast = [synthetic_run(R(.8, 200, 1.5, .05), per_cycle=64, gepa_per_cycle=32, mode='fst', pool=True)]
    s, r = samples_to_threshold(fast, .5, 'samples'), samples_to_threshold(fast, .5, 'rollouts')
    assert r == pytest.approx(1.5 * s, rel=.02)     # 32 metric calls per 64 RL samples

@pytest.mark.parametrize('A,c_mid,B,R0', [(.8, 600, 1.5, .05), (.55, 150, .8, .2), (.97, 3000, 2.5, 0.)])
def test_fit_recovers_the_asymptote_on_noise_free_curves(A, c_mid, B, R0):
    f = fit_runs([synthetic_run(R(A, c_mid, B, R0), per_cycle=64, cycles=40)], x='samples')
    assert abs(f.A - A) < .02 and f.c_mid == pytest.approx(c_mid, rel=.05) and f.B == pytest.approx(B, rel=.05)
    assert f.R0 == pytest.approx(R0)

def test_fit_without_a_point_at_zero_fits_R0():
    x = np.arange(1, 31) * 64.
    f = fit_saturating(x, saturating(x, .7, 500, 1.2, .1))
    assert abs(f.A - .7) < .02 and abs(f.R0 - .1) < .02

def test_bootstrap_interval_covers_the_truth_on_noisy_runs():
    truth = 600 * ((.8 - .05) / (.5 - .05) - 1) ** (-1 / 1.5)
    rng = np.random.default_rng(1)
    runs = [synthetic_run(R(.8 + rng.normal(0, .03), 600, 1.5, .05), per_cycle=64, noise=.05, seed=i) for i in range(6)]
    est = bootstrap(lambda g: {'s': samples_to_threshold(g, .5), 'A': fit_runs(g, x='samples').A}, runs, n_boot=300)
    assert est['s'].lo <= truth <= est['s'].hi and est['s'].lo < est['s'].hi
    assert est['A'].lo <= .8 <= est['A'].hi

def test_bootstrap_is_seeded():
    runs = [synthetic_run(R(.8, 600, 1.5, .05), noise=.05, seed=i) for i in range(4)]
    stat = lambda g: samples_to_threshold(g, .4)
    a, b, c = bootstrap(stat, runs, n_boot=100), bootstrap(stat, runs, n_boot=100), bootstrap(stat, runs, n_boot=100, seed=1)
    assert (a.lo, a.hi) == (b.lo, b.hi) and (a.lo, a.hi) != (c.lo, c.hi)

def test_never_reaching_the_threshold():
    slow = [synthetic_run(R(.6, 600, 1.5, .05), seed=i) for i in range(2)]
    fast = [synthetic_run(R(.8, 200, 1.5, .05), seed=i) for i in range(2)]
    assert samples_to_threshold(slow, .7) == math.inf                  # inf: more than the run spent
    assert threshold_ratio(slow, fast, .7) == math.inf                 # only the fast runs get there
    assert threshold_ratio(fast, slow, .7) == 0
    assert threshold_ratio(slow, slow, .7) is None                     # neither: undetermined
    assert kl_at_reward(slow, .7) is None
    est = bootstrap(lambda g: samples_to_threshold(g, .7), slow, n_boot=20)
    assert est.value == est.lo == est.hi == math.inf and str(est).startswith('∞')

def test_single_seed_gives_a_degenerate_interval():
    est = bootstrap(lambda g: samples_to_threshold(g, .3), [synthetic_run(R(.8, 600, 1.5, .05), noise=.05)], n_boot=30)
    assert est.lo == est.hi == est.value and est.n_boot == 30
    with pytest.raises(ValueError, match='at least one run'): bootstrap(lambda g: 0, [])

def test_gepa_mode_on_the_samples_axis():
    g = [synthetic_run(lambda s: .6, mode='gepa', per_cycle=0, gepa_per_cycle=16)]
    assert samples_to_threshold(g, .5, 'samples') == 0 and samples_to_threshold(g, .5, 'rollouts') == 0
    assert fit_runs(g, x='samples') is None                            # every point at 0 RL samples: nothing to fit

def test_curve_prompt_choice():
    run = synthetic_run(lambda s: s / 1000, cycles=3, pool=True)
    assert curve(run)[1].tolist() == [0, .032, .064, .096]             # pool rows where an evaluation has them
    assert curve(run, prompt='seed')[1].tolist() == [0, .016, .032, .048]
    with pytest.raises(ValueError, match='valid: auto, seed, pool'): curve(run, prompt='evolved')

def test_forgetting_matrix_keeps_presets_apart():
    rows = []
    for c, ph in [(0, -1), (1, 0), (2, 1)]:
        for preset, v in [('A', .1 + .3 * c), ('B', .05 * c)]:
            rows.append(dict(kind='eval', cycle=c, after_phase=ph, after_task=None if ph < 0 else 'star_rules',
                             task='star_rules', preset=preset, prompt='seed', reward_mean=v))
        rows.append(dict(kind='eval', cycle=c, after_phase=ph, task='math', preset='easy', prompt='seed', reward_mean=.5))
    phases, cols, m = forgetting_matrix(rows)
    assert phases == ['0:star_rules', '1:star_rules'] and cols == ['star_rules:A', 'star_rules:B', 'math']
    assert m == [[.4, .05, .5], [.7, .1, .5]]

def test_plasticity_from_a_continual_run():
    rows = [dict(kind='eval', cycle=c, step=4 * c, after_phase=-1 if c == 0 else (0 if c <= 2 else 1), task=t,
                 preset=p, prompt='seed', reward_mean=v)
            for c in range(5) for t, p, v in [('a', 'x', .2 * c), ('b', 'y', max(0, .25 * (c - 2)))]]
    run = Run('c', rows, {'mode': 'fst', 'sequence': 'a:x:8,b:y:8'})
    assert plasticity(run, 1, 4) == pytest.approx(.25) and plasticity(run, 1, 6) == pytest.approx(.375)
    assert plasticity(run, 1, 9) is None

def test_load_runs_and_summary(tmp_path):
    for mode, c_mid in [('rl', 600), ('fst', 200)]:
        for seed in range(2):
            run = synthetic_run(R(.8, c_mid, 1.5, .05), mode=mode, seed=seed, noise=.02, pool=mode == 'fst',
                                kl=lambda s: s / 5000)
            rd = RunDir.create(run.config, root=tmp_path, name=run.name)
            for r in run.rows: rd.log(r)
    runs = load_runs(sorted(tmp_path.iterdir()))
    table = summarize(runs, n_boot=50)
    assert [r['mode'] for r in table] == ['fst', 'rl'] and 0 < table[0]['threshold'] < .8
    assert table[0]['samples_ratio'].value == pytest.approx(3, rel=.2) and 'samples_ratio' not in table[1]
    md = summary_markdown(table)
    assert md.count('\n| ') == 3 and '× fewer samples' in md
    with pytest.raises(Exception, match='not a run directory'): load_runs([tmp_path])

def test_summary_without_improvement_has_no_threshold():
    runs = [synthetic_run(lambda s: .1, mode=m, seed=i) for m in ('rl', 'fst') for i in range(2)]
    table = summarize(runs, n_boot=20)
    assert all(r['threshold'] is None and r['samples_to_threshold'] is None for r in table)
    assert 'Reward threshold —' in summary_markdown(table)

def test_a_mode_that_never_improves_shows_inf():
    runs = ([synthetic_run(lambda s: .1, seed=i) for i in range(2)] +
            [synthetic_run(R(.8, 200, 1.5, .1), mode='fst', seed=i) for i in range(2)])
    rl, fst = summarize(runs, n_boot=20)
    assert rl['samples_to_threshold'].value == math.inf and fst['samples_ratio'].value == math.inf

def test_forgetting_and_plasticity_over_seeds():
    from fst_nb.analysis import forgetting_estimates, mean_plasticity
    def run(i):
        rows = [dict(kind='eval', cycle=c, step=4 * c, after_phase=ph, after_task=t0, task=t, preset='easy', prompt='seed',
                     reward_mean=v + .05 * i)
                for c, ph, t0, vs in [(0, -1, None, (.1, 0)), (1, 0, 'a', (.5, .2)), (2, 1, 'b', (.4, .6))]
                for t, v in zip('ab', vs)]
        return Run(f's{i}', rows, {'mode': 'fst', 'sequence': 'a:easy:4,b:easy:4'})
    runs = [run(i) for i in range(4)]
    phases, cols, M = forgetting_estimates(runs, n_boot=200)
    assert phases == ['0:a', '1:b'] and cols == ['a', 'b']
    assert M[1][0].value == pytest.approx(.4 + .075) and M[1][0].lo < .475 < M[1][0].hi   # forgetting of a after b
    assert mean_plasticity(runs, 4) == pytest.approx(.675) and mean_plasticity(runs, 5) is None
    table = summarize(runs, n_boot=20, plasticity_steps=4)
    assert table[0]['plasticity'].value == pytest.approx(.675) and 'plasticity' in summary_markdown(table)

def test_phase_final_rewards_on_a_return_to_the_first_rule_set():
    from fst_nb.analysis import phase_final_rewards
    rows = [dict(kind='eval', cycle=c, after_phase=ph, task='star_rules', preset=pr, prompt='seed', reward_mean=v)
            for c, ph, vals in [(0, -1, (.0, .0)), (1, 0, (.8, .1)), (2, 1, (.3, .9)), (3, 2, (.7, .4))]
            for pr, v in zip('AB', vals)]
    run = Run('abA', rows, {'mode': 'fst', 'sequence': 'star_rules:A:4,star_rules:B:4,star_rules:A:4'})
    assert phase_final_rewards(run) == [.8, .9, .7]
    assert forgetting_matrix(rows)[2] == [[.8, .1], [.3, .9], [.7, .4]]
