"Analysis functions on synthetic runs whose answers are known."
import math
import numpy as np
import pytest
from fst_nb.analysis import (Run, load_runs, synthetic_run, curve, samples_to_threshold, threshold_ratio, kl_at_reward,
                             fit_runs, fit_saturating, saturating, forgetting_matrix, plasticity, bootstrap, summarize,
                             summary_markdown, headline, peak_ratio, progress)
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

def test_a_mode_that_never_reaches_rls_peak_shows_inf():
    runs = ([synthetic_run(R(.8, 200, 1.5, .1), seed=i) for i in range(2)] +
            [synthetic_run(lambda s: .1, mode='fst', seed=i) for i in range(2)])
    rl, fst = summarize(runs, n_boot=20)
    assert rl['rule'] == 'peak' and fst['samples_to_threshold'].value == math.inf and fst['samples_ratio'].value == 0
    assert 'FST did not reach it within its budget: it went 0.1 → best 0.1' in headline([rl, fst])

def _table_run(ys, mode, step=10, **kw):
    return synthetic_run(lambda s: ys[s // step], per_cycle=step, cycles=len(ys) - 1, mode=mode, **kw)

def test_paper_ratio_is_rls_samples_to_its_peak_over_fsts_samples_to_that_value():
    rl = [_table_run([.1, .3, .45, .6, .55], 'rl', step=100)]          # peak .6 after 300 samples
    fst = [_table_run([.1, .5, .7, .7, .75], 'fst', step=100)]        # .5 at 100, .7 at 200: .6 at 150
    assert peak_ratio(rl, fst) == pytest.approx(300 / 150)
    t = summarize(rl + fst, n_boot=100)
    assert (t[0]['rule'], t[0]['threshold']) == ('peak', .6)
    assert t[0]['samples_to_threshold'].value == 300 and t[1]['samples_to_threshold'].value == pytest.approx(150)
    assert t[1]['samples_ratio'].value == pytest.approx(2.0) and t[1]['rollouts_ratio'].value == pytest.approx(2.0)
    assert headline(t).startswith("RL's best held-out reward: 0.6, reached after 300 RL samples. FST reached it after "
                                  "150 RL samples: 2× fewer RL samples")

def test_paper_ratio_over_seeds_recomputes_rls_peak_per_resample():
    rl = [_table_run([0, .2, .4 + .1 * i, .3], 'rl', seed=i) for i in range(3)]     # mean peak .5 at 20
    fst = [_table_run([0, .6, .6, .6], 'fst', seed=i) for i in range(3)]
    t = summarize(rl + fst, n_boot=200)
    assert t[0]['threshold'] == pytest.approx(.5) and t[0]['samples_to_threshold'].value == 20
    assert t[1]['samples_ratio'].value == pytest.approx(20 / (10 * .5 / .6))
    # a resample's RL peak is .4, .5 or .6 (never out of reach for RL itself): RL's own interval stays at 20 samples
    assert t[0]['samples_to_threshold'].lo == t[0]['samples_to_threshold'].hi == 20
    assert t[1]['samples_ratio'].lo < t[1]['samples_ratio'].value < t[1]['samples_ratio'].hi

QUICK = [0, 1/64, 0, 2/64, 1/64]    # RL in `fst compare quick`: 0.00-0.03 on 32 problems x 2 samples

@pytest.mark.parametrize('seeds', [1, 3])
def test_flat_rl_and_rising_fst_give_words_no_ratio_no_asymptote(seeds):
    runs = ([_table_run(QUICK, 'rl', step=128, seed=i, n_problems=32) for i in range(seeds)] +
            [synthetic_run(R(.6, 150, 1.5, 0.), per_cycle=128, cycles=4, mode='fst', seed=i, n_problems=32, pool=True,
                           gepa_per_cycle=48, noise=.02) for i in range(seeds)])
    rl, fst = t = summarize(runs, n_boot=100)
    assert rl['rule'] == 'flat' and rl['threshold'] is None and not rl['progress'].learned and fst['progress'].learned
    assert 'samples_ratio' not in fst and fst['samples_to_threshold'] is None
    assert rl['A'].value is None and rl['c_mid'].value is None and str(rl['A']).startswith('— (flat')
    md = summary_markdown(t)
    assert md.startswith('RL did not learn within this budget: its held-out reward went 0 → best 0.0312 (final 0.0156)')
    assert f"FST went {fst['progress']}." in md and 'fewer' not in md.split('\n')[0]
    assert 'Reward threshold — (RL did not learn within this budget)' in md

def test_rl_learning_on_one_seed_needs_more_than_two_binomial_standard_errors():
    up = lambda top, n: [_table_run([0, top / 2, top], 'rl', n_problems=n)]
    assert not progress(up(.03, 32)).learned                          # SE √(2·.015·.985/32) = .030
    assert progress(up(.03, 2000)).learned                            # the same rise on 2,000 problems: SE .0038
    assert progress(up(.4, 32)).learned
    p = progress(up(.03, 32))
    assert p.se == pytest.approx(math.sqrt(2 * .015 * .985 / 32)) and (p.start, p.best, p.final) == (0, .03, .03)

def test_seed_spread_counts_when_larger_than_the_binomial_bound():
    runs = [_table_run([0, .1 * (i == 0), .1 * (i == 0)], 'rl', n_problems=10000, seed=i) for i in range(4)]
    p = progress(runs)                                                # one seed of four rose by .1: mean .025
    assert p.se == pytest.approx(np.std([.1, 0, 0, 0], ddof=1) / 2) and not p.learned

@pytest.mark.parametrize('reward,cycles,why', [
    (lambda s: .3, 10, 'flat'),
    (R(.8, 600, 1.5, .05), 3, '3 evaluations for 3 parameters'),
    (R(.9, 5000, 1.5, .05), 30, 'C_mid beyond the last evaluation'),
    (R(.8, 20, 1.5, .05), 30, 'C_mid before the first evaluation'),
])
def test_unidentifiable_fits_say_why(reward, cycles, why):
    f = fit_runs([synthetic_run(reward, per_cycle=64, cycles=cycles, n_problems=200)], x='samples')
    assert f.why.startswith(why) and not f.identified

def test_noisy_fit_with_a_huge_interval_is_not_reported():
    x = np.repeat(np.arange(1, 6) * 64., 1)
    f = fit_saturating(np.r_[0, x], [.0, .05, .4, .1, .45, .2])       # a zig-zag: no saturating shape
    assert f is None or not f.identified

def test_identified_fit_on_a_clean_rising_curve():
    f = fit_runs([synthetic_run(R(.8, 600, 1.5, .05), per_cycle=64, noise=.02, n_problems=200)], x='samples')
    assert f.identified and abs(f.A - .8) < .1

def test_bootstrap_computes_each_distinct_resample_once_with_the_same_interval():
    runs = [synthetic_run(R(.8 + .02 * i, 600, 1.5, .05), noise=.05, seed=i) for i in range(3)]
    stat = lambda g: samples_to_threshold(g, .4)
    calls = []
    est = bootstrap(lambda g: calls.append(1) or stat(g), runs, n_boot=500, seed=3)
    rng = np.random.default_rng(3)
    rng.integers(0, 1, 0)                                             # nothing drawn before the resamples
    rng = np.random.default_rng(3)
    brute = [stat([runs[i] for i in sorted(rng.integers(0, 3, 3).tolist())]) for _ in range(500)]
    lo, hi = np.quantile(brute, [.025, .975], method='inverted_cdf')
    assert (est.lo, est.hi) == (lo, hi) and len(calls) <= 11

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

def test_gepa_progress_is_read_on_the_rollouts_axis():
    runs = ([_table_run([0, .01, .02], 'rl', n_problems=32)] + [_table_run([0, .3, .5], 'fst', n_problems=32)] +
            [synthetic_run(lambda s: 0, mode='gepa', per_cycle=0, gepa_per_cycle=16, cycles=2, n_problems=32)])
    for r in runs[2].rows: r['reward_mean'] = .2 * r['cycle']          # gepa: 0 → .4 with RL samples at 0 throughout
    rl, fst, gepa = t = summarize(runs, n_boot=0)
    assert rl['rule'] == 'flat' and (gepa['progress'].start, gepa['progress'].best) == (0, .4)
    assert gepa['start_reward'].value == 0 and gepa['final_reward'].value == .4
    assert 'GEPA went 0 → best 0.4 (final 0.4).' in headline(t)
