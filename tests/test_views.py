"Fast tests of the views: the stepper on any object with the API, views opened on a path, the static fallback, re-exports."
import json
import pytest
from fst_nb.core import RunDir
from fst_nb import views as V, viewdata


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


def test_views_reexports_the_data_names():
    "fst_nb.views keeps offering what moved to fst_nb.viewdata (`from fst_nb.views import *` included)."
    assert set(viewdata.__all__) <= set(V.__all__)
    assert all(getattr(V, n) is getattr(viewdata, n) for n in viewdata.__all__)
