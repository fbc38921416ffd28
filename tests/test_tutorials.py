"The tutorials: four notebooks in order, each with a papermill `parameters` cell, none exporting a module, all linked from index and README."
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
NAMES = ['01_verifiers', '02_cispo', '03_gepa', '04_fst_cycle']

def _cells(name): return json.loads((ROOT/'nbs'/'tutorials'/f'{name}.ipynb').read_text())['cells']

def test_tutorials_have_parameters_and_export_nothing():
    for name in NAMES:
        cells = _cells(name)
        params = [c for c in cells if c['metadata'].get('tags') == ['parameters']]
        assert len(params) == 1 and params[0]['cell_type'] == 'code', name
        assert not any('#| default_exp' in ''.join(c['source']) for c in cells), name

def test_tutorials_linked_in_order():
    readme = (ROOT/'README.md').read_text()
    index = ''.join(''.join(c['source']) for c in json.loads((ROOT/'nbs'/'index.ipynb').read_text())['cells'])
    for text, prefix in ((readme, 'nbs/tutorials/'), (index, 'tutorials/')):
        pos = [text.find(f'({prefix}{n}.ipynb)') for n in NAMES]
        assert all(p >= 0 for p in pos) and pos == sorted(pos), (prefix, pos)
