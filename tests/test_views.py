"Fast tests of the views: what is plotted for a given run directory, and the stepper on any object with the API."
import json
import pytest
from hypothesis import given, settings, strategies as st
from fst_nb.core import RunDir
from fst_nb import views as V


class TinyRun:
    "The smallest object the stepper must accept: four methods and a run_dir, no `state`."
    def __init__(self, path):
        self.run_dir = RunDir.create({'mode': 'rl', 'total_steps': 4}, root=path.parent, name=path.name)
        self.step = 0
    def _row(self, **kw): self.run_dir.log(step=self.step, cycle=0, samples_seen=8 * self.step, **kw)
    def rl_step(self):
        self.step += 1
        self._row(kind='rl', reward_mean=0.25 * self.step, pass_rate=0.2 * self.step, loss=0.0, clip_frac=0.01,
                  entropy=1.0, tokens_per_s=1.0, step_time=0.1, n_groups_kept=1)
    def gepa_round(self): self._row(kind='gepa', round=1, proposals=0, accepted=0, metric_calls=0, best_score=0.0,
                                    frontier_size=1, seconds=0.0)
    def cycle(self): self.gepa_round(); self.rl_step(); self.rl_step()
    def evaluate(self): self._row(kind='eval', task='t', split='test', prompt='seed', reward_mean=0.5, pass_rate=0.5)


def test_stepper_drives_any_run_object(tmp_path):
    run = TinyRun(tmp_path/'tiny')
    s = V.CycleStepper(run); s.widget()
    buttons = {b.description: b for b in s._buttons}
    buttons['RL step'].click()
    assert list(s.dashboard.fig.data[0].y) == [0.25]
    buttons['Full cycle'].click()
    assert list(s.dashboard.fig.data[0].x) == [8, 16, 24]
    assert (s._bar.value, s._bar.max) == (3, 4)
    assert "<td data-key='state.step'>" not in s._summary.value      # no `state`: the summary comes from the metrics
    assert "<td data-key='gepa_rounds'>1</td>" in s._summary.value
    buttons['Evaluate'].click()
    assert list(s.dashboard.fig.data[5].x) == [24]                     # eval diamond (seed prompt: no pool)


def test_dashboard_overlays_runs_in_order(tmp_path):
    a = V.make_demo_run(tmp_path/'a', cycles=1, seed=1)
    b = V.make_demo_run(tmp_path/'b', cycles=2, seed=2)
    d = V.dashboard_data([b, a])
    assert list(d) == ['b', 'a']
    for name, rd in (('a', a), ('b', b)):
        rl = [r for r in rd.read() if r['kind'] == 'rl']
        assert d[name]['clip_frac'] == ([r['samples_seen'] for r in rl], [r['clip_frac'] for r in rl])
    fig = V.dashboard_figure([b, a])
    assert [t.name for t in fig.data if t.showlegend] == ['b', 'b eval', 'a', 'a eval']


def test_views_open_post_hoc_on_a_path(tmp_path):
    rd = V.make_demo_run(tmp_path/'run', cycles=2)
    path = str(rd.path)
    assert V.frontier_data(path).candidates == V.frontier_data(rd).candidates
    assert len(V.critique_rows(path)) == 2 * 3          # 2 rounds × 3 proposals
    assert {r['status'] for r in V.critique_rows(path)} <= {'accepted', 'rejected'}
    assert V.Dashboard(path).data() == V.dashboard_data(rd)
    html = V.save_html(V.FrontierView(path), tmp_path/'f.html').read_text()
    assert 'js-plotly-plot' in html or 'plotly' in html.lower()


def test_static_fallback_when_no_widget_frontend(tmp_path, monkeypatch):
    rd = V.make_demo_run(tmp_path/'run', cycles=1)
    shown = []
    monkeypatch.setattr('IPython.display.display', lambda *objs, **kw: shown.extend(objs))
    monkeypatch.setenv('FST_NB_WIDGETS', '0')
    V.Dashboard(rd)._ipython_display_()
    V.RunViews(rd)._ipython_display_()
    assert [type(o).__name__ for o in shown] == ['Figure'] * 4
    shown.clear(); monkeypatch.setenv('FST_NB_WIDGETS', '1')
    V.Dashboard(rd)._ipython_display_()
    assert type(shown[0]).__name__ == 'VBox'


def test_gepa_schema_variants(tmp_path):
    "Rows spelled the other ways a run may write them (idx/parent/text, one row per candidate with a list of scores)."
    rd = RunDir.create({'mode': 'gepa'}, root=tmp_path, name='v')
    rd.log(file='pool.jsonl', round=1, idx=0, parent=None, prompt='seed')
    rd.log(file='pool.jsonl', round=1, idx=1, parent=0, prompt='seed plus')
    rd.log(file='scores.jsonl', round=1, idx=0, example_ids=['x', 'y'], scores=[1.0, 0.0])
    rd.log(file='scores.jsonl', round=1, idx=1, example_ids=['x', 'y'], scores=[0.0, 1.0])
    fd = V.frontier_data(rd)
    assert (fd.candidates, fd.parents, fd.on_frontier) == ([0, 1], {0: [], 1: [0]}, [True, True])
    assert V.candidate_detail(rd, 1)['diff'] == [('=', 'seed'), ('+', ' plus')]


def test_multi_component_candidates_and_minibatch_rows(tmp_path):
    "GEPA's schema: texts are dicts of components; minibatch scores stay out of the Pareto table."
    rd = RunDir.create({'mode': 'gepa'}, root=tmp_path, name='m')
    rd.log(file='pool.jsonl', round=1, event='seed', candidate='c0', parents=[], texts={'system_prompt': 'A', 'hint': 'B'})
    rd.log(file='scores.jsonl', round=1, candidate='c0', example='e1', score=0.5, split='pareto')
    rd.log(file='scores.jsonl', round=1, candidate='c0', example='e9', score=1.0, split='minibatch', proposal=0)
    fd = V.frontier_data(rd)
    assert (fd.examples, fd.scores, fd.texts['c0']) == (['e1'], [[0.5]], '[system_prompt]\nA\n[hint]\nB')


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0]), min_size=3, max_size=3), min_size=1, max_size=5))
def test_frontier_is_the_set_of_column_maxima(tmp_path_factory, matrix):
    rd = RunDir.create({}, root=tmp_path_factory.mktemp('h'), name='r')
    for c, row in enumerate(matrix):
        rd.log(file='pool.jsonl', round=1, event='seed' if c == 0 else 'accepted', candidate=c, parents=[0] if c else [],
               texts={'system_prompt': f'p{c}'})
        for j, s in enumerate(row): rd.log(file='scores.jsonl', round=1, candidate=c, example=f'e{j}', score=s, split='pareto')
    fd = V.frontier_data(rd)
    col_max = [max(r[j] for r in matrix) for j in range(3)]
    assert fd.on_frontier == [any(s == m for s, m in zip(r, col_max)) for r in matrix]
    assert any(fd.on_frontier)                       # some candidate always holds each column's max
    assert fd.mean == [sum(r) / 3 for r in matrix]
