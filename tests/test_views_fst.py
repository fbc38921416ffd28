"The views on a real (tiny) FST run: the stepper drives fst_nb.fst.FSTRun and every view reads what it wrote."
import pytest


@pytest.mark.slow
def test_views_on_a_real_fst_run(tmp_path):
    from fst_nb.fst import FSTConfig, FSTRun
    from fst_nb.gepa import CallableLM
    from fst_nb import views as V
    cfg = FSTConfig(cycles=1, rl_steps=2, problems=2, G=4, pool_k=2, gepa_budget=12, minibatch=2, max_new_tokens=12,
                    eval_problems=4, reflection_lm='self', verbose=False)
    run = FSTRun.create(cfg, root=tmp_path, name='real')
    # a scripted reflection LM (as in 06_fst) so the proposals are well formed; the policy, rollouts, verifier are real
    run.reflector = CallableLM(lambda p: "The answer lacks a box.\n```\nGive only the path, as \\boxed{a,b,c}.\n```")
    frontier, critiques = V.FrontierView(run), V.CritiqueBrowser(run)
    stepper = V.CycleStepper(run, views=[V.Dashboard(run), frontier, critiques])
    stepper.widget()
    buttons = {b.description: b for b in stepper._buttons}
    buttons['GEPA round'].click()
    buttons['RL step'].click()
    assert [h[2] for h in stepper.history] == [None, None], stepper.history     # no call failed
    assert len(stepper.dashboard.fig.data[0].x) == 1                            # one RL point on the reward panel
    assert "<td data-key='total_steps'>2</td>" in stepper._summary.value        # cycles × rl_steps
    assert "<td data-key='rl_steps'>1</td>" in stepper._summary.value
    fd = V.frontier_data(run)
    assert fd.candidates and fd.examples and any(fd.on_frontier)
    rows = V.critique_rows(run)
    assert rows and all(r['status'] in ('accepted', 'rejected', 'malformed', 'skipped', 'pending') for r in rows)
    assert len(critiques._list.options) == len(rows)
    buttons['Full cycle'].click()
    buttons['Evaluate'].click()
    assert [h[2] for h in stepper.history] == [None] * 4, stepper.history
    d = V.dashboard_data(run)['real']
    assert len(d['reward_mean'][0]) == 2 and d['eval/reward_mean'][0]
    assert V.frontier_figure(run).data and V.critique_figure(run).data
