"""Author notebooks as plain text: `python tools/nb.py to-py NB.ipynb > x.py`, edit, `python tools/nb.py from-py x.py NB.ipynb`.

The notebook stays the source of truth; the text form is a scratch copy (never commit it).
Cells are separated by lines `#%%` (code) and `#%% md` (markdown; each line of the cell prefixed by `# ` or `#`).
A code cell may start with `#%% tags=parameters` to carry cell tags (comma separated).
"""
import hashlib, json, sys
from pathlib import Path

def _cell(kind, lines, tags, n=[0]):
    while lines and not lines[-1].strip(): lines.pop()
    while lines and not lines[0].strip(): lines.pop(0)
    src = '\n'.join(lines)
    meta = {'tags': tags} if tags else {}
    n[0] += 1
    cid = hashlib.sha1(f'{n[0]}:{src}'.encode()).hexdigest()[:8]   # deterministic ids: exports stay stable
    if kind == 'md': return {'cell_type': 'markdown', 'id': cid, 'metadata': meta, 'source': src}
    return {'cell_type': 'code', 'execution_count': None, 'id': cid, 'metadata': meta, 'outputs': [], 'source': src}

def from_py(text):
    cells, kind, tags, buf = [], None, [], []
    for line in text.splitlines():
        if line.startswith('#%%'):
            if kind: cells.append(_cell(kind, buf, tags))
            rest = line[3:].strip()
            kind = 'md' if rest.startswith('md') else 'code'
            tags = rest.split('tags=', 1)[1].split(',') if 'tags=' in rest else []
            buf = []
        elif kind == 'md': buf.append(line[2:] if line.startswith('# ') else line.lstrip('#'))
        elif kind: buf.append(line)
    if kind: cells.append(_cell(kind, buf, tags))
    return {'cells': cells, 'metadata': {'kernelspec': {'display_name': 'python3', 'language': 'python', 'name': 'python3'}},
            'nbformat': 4, 'nbformat_minor': 5}

def to_py(nb):
    out = []
    for c in nb['cells']:
        src = c['source'] if isinstance(c['source'], str) else ''.join(c['source'])
        tags = c.get('metadata', {}).get('tags', [])
        if c['cell_type'] == 'markdown':
            out.append('#%% md\n' + '\n'.join(('# ' + l) if l else '#' for l in src.split('\n')))
        else: out.append('#%%' + (f' tags={",".join(tags)}' if tags else '') + '\n' + src)
    return '\n\n'.join(out) + '\n'

if __name__ == '__main__':
    cmd, src = sys.argv[1], Path(sys.argv[2])
    if cmd == 'from-py':
        Path(sys.argv[3]).write_text(json.dumps(from_py(src.read_text()), indent=1, ensure_ascii=False) + '\n')
    elif cmd == 'to-py': sys.stdout.write(to_py(json.loads(src.read_text())))
    else: sys.exit(__doc__)
