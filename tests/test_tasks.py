"Star-graph properties (hypothesis), the registry, and the committed data's hashes."
import json, random
from pathlib import Path
import pytest
from hypothesis import given, settings, strategies as st
from fst_nb.tasks import (star_graph, get_task, list_tasks, regenerate, data_dir, data_presets, sha256, jsonl_bytes,
                          last_boxed, Verdict, ConfigError)

def simple_paths(edges, src, dst):
    "All simple paths src -> dst in the undirected graph `edges` (DFS)."
    adj = {}
    for a, b in edges: adj.setdefault(a, []).append(b); adj.setdefault(b, []).append(a)
    out, stack = [], [(src, [src])]
    while stack:
        node, path = stack.pop()
        if node == dst: out.append(path); continue
        for nb in adj.get(node, []):
            if nb not in path: stack.append((nb, path + [nb]))
    return out

graphs = st.tuples(st.integers(1, 6), st.integers(2, 7), st.integers(0, 40), st.integers(0, 2**32 - 1))

@settings(max_examples=150, deadline=None)
@given(graphs)
def test_gold_is_unique_path_and_degrees(args):
    d, p, extra, seed = args
    n = d * (p - 1) + 1 + extra
    g = star_graph(d, p, n, random.Random(seed))
    edges, src, goal = g['edges'], g['source'], g['goal']
    assert simple_paths(edges, src, goal) == [g['path']]
    assert len(g['path']) == p and len(edges) == d * (p - 1)
    deg = {}
    for a, b in edges: deg[a] = deg.get(a, 0) + 1; deg[b] = deg.get(b, 0) + 1
    assert deg[src] == d
    assert all(0 <= v < n for v in deg)
    assert len(deg) == d * (p - 1) + 1                          # every arm uses fresh nodes
    leaves = [v for v, k in deg.items() if k == 1 and v != src]
    assert goal in leaves and len(leaves) == d                   # each arm ends in a leaf, one of them the goal
    assert all(k == 2 for v, k in deg.items() if v != src and v not in leaves)
    assert len(g['arms']) == d - 1 and all(len(a) == p - 1 for a in g['arms'])

@settings(max_examples=25, deadline=None)
@given(st.integers(1, 4), st.integers(2, 5), st.integers(0, 10**6), st.integers(1, 20), st.integers(1, 5))
def test_splits_reproducible_from_params_and_seed(d, p, seed, n_train, n_test):
    kw = dict(preset=None, degree=d, path_len=p, nodes=d * (p - 1) + 30, n_train=n_train, n_test=n_test, seed=seed)
    a, b = get_task('star_graph', **kw), get_task('star_graph', **kw)
    for split in ('train', 'test'):
        assert jsonl_bytes(a.examples(split)) == jsonl_bytes(b.examples(split))
        ids = [e['id'] for e in a.examples(split)]
        assert len(set(ids)) == len(ids)
    keys = lambda rows: {(r['source'], r['goal'], tuple(sorted(r['graph'].split()))) for r in rows}
    assert not keys(a.examples('train')) & keys(a.examples('test'))   # no graph in both splits
    other = get_task('star_graph', **{**kw, 'seed': seed + 1})
    assert jsonl_bytes(other.examples('train')) != jsonl_bytes(a.examples('train')) or d * (p - 1) <= 1

@settings(max_examples=50, deadline=None)
@given(st.integers(0, 10**6))
def test_gold_scores_one_and_first_decoy_is_named(seed):
    t = get_task('star_graph', preset=None, degree=3, path_len=4, nodes=40, n_train=1, n_test=1, seed=seed)
    ex = t.examples('train')[0]
    assert t.score(f"reasoning... \\boxed{{{ex['gold']}}}", ex).score == 1.0
    gold = ex['gold'].split(',')
    nbrs = {int(b) for a, b in (e.split(',') for e in ex['graph'].split()) if int(a) == ex['source']}
    decoy = sorted(nbrs - {int(gold[1])})[0]
    v = t.score(f"\\boxed{{{ex['source']},{decoy}}}", ex)
    assert v.score == 0.0 and v.info['error'] == 'decoy' and f"through {decoy}," in v.feedback

def test_registry_lists_and_errors():
    assert 'star_graph' in list_tasks()
    with pytest.raises(ConfigError, match='registered tasks'): get_task('nope')
    with pytest.raises(ConfigError, match='valid parameters'): get_task('star_graph', depth=3)

def committed():
    "(task, preset) pairs whose manifest and splits are committed under data/ (not generated on demand)."
    out = []
    for t, p in data_presets():
        task = get_task(t, preset=p)
        if not task.params.get('cache') and (data_dir()/t/p/'manifest.json').exists(): out.append((t, p))
    return out

def fast(t, p): return t in ('star_graph', 'hover', 'physics')   # regenerating these takes seconds; codeio and math are slow

@pytest.mark.parametrize('task,preset', [tp for tp in committed() if fast(*tp)])
def test_committed_data_matches_manifest(task, preset):
    man = json.loads((data_dir()/task/preset/'manifest.json').read_text())
    for split, entry in man['splits'].items():
        data = (data_dir()/task/preset/f'{split}.jsonl').read_bytes()
        assert sha256(data) == entry['sha256'], f"{task}/{preset}/{split} differs from its manifest"
        assert data.count(b'\n') == entry['n']
    regenerate(task, preset, check=True, write=False)            # and (params, seed) regenerate the same bytes

@pytest.mark.slow
@pytest.mark.parametrize('task,preset', [tp for tp in committed() if not fast(*tp)])
def test_committed_data_regenerates_slow(task, preset):
    regenerate(task, preset, check=True, write=False)

@pytest.mark.slow
def test_paper_preset_matches_manifest():
    man = regenerate('star_graph', 'paper', check=True, write=False)
    assert man['splits']['train']['n'] == 10_000 and man['splits']['test']['n'] == 200

def test_hover_files_loader(tmp_path):
    d = Path(__file__).parent/'data'/'hover'
    t = get_task('hover_files', corpus=str(d/'corpus.jsonl'), test=str(d/'claims.json'), k=2)
    exs = t.examples('test')
    assert [e['id'] for e in exs] == ['c1', 'c2'] and t.skipped['test'] == 1
    assert exs[1]['gold'] == ['Ada Quill', 'Port Essel'] and exs[1]['label'] == 'SUPPORTED'
    v = t.score(r'\boxed{Port Essel}', exs[1])
    assert v.score == (1.0 if 'Ada Quill' in exs[1]['hop1'] else 0.0)
    assert 'Ada Quill' not in exs[0]['hop1']                      # named only in the Merrow Dam document
    v = t.score(r'\boxed{Kettle Hill}', exs[0])
    assert v.score == 0.0 and v.info['missed'] == ['Ada Quill'] and "'Ada Quill' (mentioned in Merrow Dam)" in v.feedback
    assert t.score(r'\boxed{Ada Quill}', exs[0]).score == 1.0
    # the same loader reads JSONL claims and a corpus whose text is a plain string
    (tmp_path/'c.jsonl').write_text('{"uid": 7, "claim": "Port Essel is a town.", "supporting_facts": [["Port Essel", 0]]}\n')
    t2 = get_task('hover_files', corpus=str(d/'corpus.jsonl'), train=str(tmp_path/'c.jsonl'))
    assert t2.examples('train')[0]['id'] == '7' and t2.examples('train')[0]['hop1'][0] == 'Port Essel'
    with pytest.raises(ConfigError, match='no test= file'): t2.examples('test')

@pytest.mark.slow
def test_math_unknown_source_is_named():
    with pytest.raises(ConfigError, match="no reasoning-gym dataset 'gsm_symbolc'"):
        get_task('math', preset=None, sources=['gsm_symbolc'])
    t = get_task('math', preset=None, sources=['gsm_symbolic', 'lcm'], n_train=4, n_test=2, seed=3)
    assert [e['source'] for e in t.examples('train')] == ['gsm_symbolic', 'lcm'] * 2

@pytest.mark.slow
def test_math_pipelined_timeout_resends_the_rest():
    from fst_nb.tasks_math import MathVerifier
    mv = MathVerifier()
    try:
        res = mv.check_many([('1', '$1$'), ('2', '$2$'), ('3', '$5$')], deadline=0.5, stall=2)
        assert [r.get('error') for r in res] == ['timeout'] * 3 and mv.restarts == 3
        res = mv.check_many([('1', '$1$'), ('2', '$2$'), ('3', '$5$')])
        assert [r['ok'] for r in res] == [True, True, False]
    finally: mv.close()
