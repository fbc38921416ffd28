"Fast tests of the view data: what is plotted for a given run directory, read without any widget library."
import subprocess, sys
from pathlib import Path
from hypothesis import given, settings, strategies as st
from fst_nb.core import RunDir
from fst_nb import viewdata as D


def test_no_widget_library_at_import():
    "Reading run directories and drawing static figures must not need ipywidgets / anywidget (batch jobs, reports)."
    code = ("import sys, fst_nb.viewdata; "
            "print(sorted(m for m in ('ipywidgets', 'anywidget', 'fst_nb.views') if m in sys.modules))")
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, check=True,
                         cwd=Path(__file__).resolve().parent.parent)
    assert out.stdout.strip() == '[]', out.stdout + out.stderr


def test_dashboard_overlays_runs_in_order(tmp_path):
    a = D.make_demo_run(tmp_path/'a', cycles=1, seed=1)
    b = D.make_demo_run(tmp_path/'b', cycles=2, seed=2)
    d = D.dashboard_data([b, a])
    assert list(d) == ['b', 'a']
    for name, rd in (('a', a), ('b', b)):
        rl = [r for r in rd.read() if r['kind'] == 'rl']
        assert d[name]['clip_frac'] == ([r['samples_seen'] for r in rl], [r['clip_frac'] for r in rl])
    fig = D.dashboard_figure([b, a])
    assert [t.name for t in fig.data if t.showlegend] == ['b', 'b eval', 'a', 'a eval']


def test_gepa_schema_variants(tmp_path):
    "Rows spelled the other ways a run may write them (idx/parent/text, one row per candidate with a list of scores)."
    rd = RunDir.create({'mode': 'gepa'}, root=tmp_path, name='v')
    rd.log(file='pool.jsonl', round=1, idx=0, parent=None, prompt='seed')
    rd.log(file='pool.jsonl', round=1, idx=1, parent=0, prompt='seed plus')
    rd.log(file='scores.jsonl', round=1, idx=0, example_ids=['x', 'y'], scores=[1.0, 0.0])
    rd.log(file='scores.jsonl', round=1, idx=1, example_ids=['x', 'y'], scores=[0.0, 1.0])
    fd = D.frontier_data(rd)
    assert (fd.candidates, fd.parents, fd.on_frontier) == ([0, 1], {0: [], 1: [0]}, [True, True])
    assert D.candidate_detail(rd, 1)['diff'] == [('=', 'seed'), ('+', ' plus')]


def test_multi_component_candidates_and_minibatch_rows(tmp_path):
    "GEPA's schema: texts are dicts of components; minibatch scores stay out of the Pareto table."
    rd = RunDir.create({'mode': 'gepa'}, root=tmp_path, name='m')
    rd.log(file='pool.jsonl', round=1, event='seed', candidate='c0', parents=[], texts={'system_prompt': 'A', 'hint': 'B'})
    rd.log(file='scores.jsonl', round=1, candidate='c0', example='e1', score=0.5, split='pareto')
    rd.log(file='scores.jsonl', round=1, candidate='c0', example='e9', score=1.0, split='minibatch', proposal=0)
    fd = D.frontier_data(rd)
    assert (fd.examples, fd.scores, fd.texts['c0']) == (['e1'], [[0.5]], '[system_prompt]\nA\n[hint]\nB')


@settings(max_examples=40, deadline=None)
@given(st.lists(st.lists(st.sampled_from([0.0, 0.25, 0.5, 1.0]), min_size=3, max_size=3), min_size=1, max_size=5))
def test_frontier_is_the_set_of_column_maxima(tmp_path_factory, matrix):
    rd = RunDir.create({}, root=tmp_path_factory.mktemp('h'), name='r')
    for c, row in enumerate(matrix):
        rd.log(file='pool.jsonl', round=1, event='seed' if c == 0 else 'accepted', candidate=c, parents=[0] if c else [],
               texts={'system_prompt': f'p{c}'})
        for j, s in enumerate(row): rd.log(file='scores.jsonl', round=1, candidate=c, example=f'e{j}', score=s, split='pareto')
    fd = D.frontier_data(rd)
    col_max = [max(r[j] for r in matrix) for j in range(3)]
    assert fd.on_frontier == [any(s == m for s, m in zip(r, col_max)) for r in matrix]
    assert any(fd.on_frontier)                       # some candidate always holds each column's max
    assert fd.mean == [sum(r) / 3 for r in matrix]
