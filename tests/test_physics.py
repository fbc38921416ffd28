"The physics task: every kind of error is told apart, the verifier never raises on any text, and the data is deterministic."
import math, random
import pytest
from hypothesis import given, settings, strategies as st
from fst_nb.core import ConfigError
from fst_nb.tasks import get_task, regenerate, Verdict
from fst_nb.tasks_physics import Physics, TEMPLATES, Q, unit_factors, parse_answer

_T = {}

def task(preset):
    if preset not in _T: _T[preset] = get_task('physics', preset=preset)
    return _T[preset]

def every_test_example():
    return [(p, e) for p in ('tiny', 'easy', 'paper') for e in task(p).examples('test')]

def box(x, unit=''): return f"so the answer is \\boxed{{{x:.6g}\\ \\mathrm{{{unit}}}}}" if unit else f"\\boxed{{{x:.6g}}}"

def kind(text, ex, preset='easy'): return task(preset).verify(text, ex).info['error']

def test_every_template_is_drawn_and_references_score_one():
    seen = set()
    for p, e in every_test_example():
        v = task(p).verify(task(p).reference(e), e)
        assert v.score == 1.0, (e['id'], v.feedback)
        seen.add(e['kind'])
    assert seen == set(TEMPLATES)

def test_sign_formula_unit_magnitude_close_are_told_apart():
    n = {'formula': 0, 'unit': 0, 'magnitude': 0}
    for p, e in every_test_example():
        c, u, tol = e['answer'], e['unit'], e['rtol']
        assert kind(box(-c, u), e, p) == 'sign'
        near_wrong = any(abs(c * (1 + 2.5 * tol) - w['value']) <= tol * abs(w['value']) for w in e['wrong'])
        assert kind(box(c * (1 + 2.5 * tol), u), e, p) == ('formula' if near_wrong else 'close')
        assert kind(box(c * 1.5, u), e, p) in ('wrong', 'formula')
        for w in e['wrong']:
            v = task(p).verify(box(w['value'], u), e)
            assert v.info['error'] == 'formula' and w['formula'] in v.feedback and w['why'] in v.feedback
            n['formula'] += 1
        for f, label in unit_factors(tuple(e['units'])):
            if not any(abs(c * f - w['value']) <= 2 * tol * abs(w['value']) for w in e['wrong']):
                v = task(p).verify(box(c * f, u), e)
                assert v.info['error'] == 'unit' and 'conversion' in v.feedback, (e['id'], f, v.feedback)
                n['unit'] += 1
        fs = [f for f, _ in unit_factors(tuple(e['units']))]
        if not any(abs(f / 1e4 - 1) < 0.1 or abs(f * 1e4 - 1) < 0.1 for f in fs) and not e['wrong']:
            assert kind(box(c * 1e4, u), e, p) == 'magnitude'
            n['magnitude'] += 1
    assert min(n.values()) > 50, n

def test_unit_error_names_the_factor():
    ex = next(e for e in task('easy').examples('test') if e['kind'] == 'speed' and e['unit'] == 'm/s')
    v = task('easy').verify(box(ex['answer'] * 3.6, 'm/s'), ex)      # the km/h value labelled m/s
    assert v.info['error'] == 'unit' and '1 m/s = 3.6 km/h' in v.feedback
    ex = next(e for e in task('tiny').examples('test') if e['kind'] == 'distance' and e['unit'] == 'km')
    v = task('tiny').verify(box(ex['answer'] * 60, 'km'), ex)        # minutes taken as hours
    assert v.info['error'] == 'unit' and '1 h = 60 min' in v.feedback

def test_right_value_in_any_unit_scores_one():
    t, n = task('easy'), 0
    for e in t.examples('test')[:60]:
        for u in {'m/s': ['km/h', 'mph', 'ft/s'], 'J': ['kJ', 'cal', 'Wh'], 'm': ['cm', 'km', 'ft'], 'mA': ['A', 'µA'],
                  'kJ': ['J', 'kWh', 'MJ'], 'W': ['kW', 'mW'], 'Ω': ['kΩ', 'ohm']}.get(e['unit'], []):
            x = Q(e['answer'], e['unit']).to(u).magnitude
            assert t.verify(box(x, u), e).score == 1.0, (e['id'], u)
            n += 1
    assert n > 40

def test_dimension_and_missing_unit():
    t = task('easy')
    ex = next(e for e in t.examples('test') if e['unit'] == 'm/s')
    v = t.verify(box(ex['answer'], 's'), ex)
    assert v.info == {'error': 'dimension', 'expected': 'speed', 'given': 'time'} and 'speed' in v.feedback
    asked = next(e for e in t.examples('test') if e['asked'])
    v = t.verify(box(asked['answer']), asked)
    assert v.score == 1.0 and 'read in' in v.feedback                     # a bare number is read in the asked unit
    free = next(e for e in t.examples('test') if not e['asked'])
    v = t.verify(box(free['answer']), free)
    assert v.score == 0.0 and v.info['error'] == 'no_unit' and 'Missing unit' in v.feedback
    assert t.verify(box(free['answer'], free['unit']), free).score == 1.0

@pytest.mark.parametrize('text', ['', 'no box', '\\boxed{}', '\\boxed{nan m/s}', '\\boxed{inf J}', '\\boxed{1e400 m}',
                                  '\\boxed{1e308 km}', '\\boxed{12 furlongz}', '\\boxed{5 \\text{m}^{99}}', '\\boxed{5 degC}',
                                  '\\boxed{3 m**(9**9**9)}', '\\boxed{2 \\frac{\\frac{m}{s}}{}}', '\\boxed{0 m/s}',
                                  '\\boxed{1} \\boxed{2} \\boxed{3 m/s}', '\\boxed{\\sqrt{2} m/s}', '\\boxed{1/0 m}',
                                  '\\boxed{5 kelvin*m/s}', '\\boxed{-0 m/s}', '\\boxed{5 %}', '\\boxed{1.2 \\times 10^{-999} J}'])
def test_odd_answers_score_zero_without_raising(text):
    for preset in ('tiny', 'easy'):
        for e in task(preset).examples('test')[:12]:
            v = task(preset).verify(text, e)               # verify itself, not the guarded score
            assert isinstance(v, Verdict) and v.score in (0.0, 1.0) and v.feedback.strip()

_ATOMS = ['\\boxed{', '}', '{', '\\frac', '\\mathrm{', '\\text{', '^', '^{', '\\,', '\\ ', '\\cdot', '\\times', '10', '-',
          '1.5', 'e', '3', '.', 'm', 's', 'k', 'km/h', '/', '*', '**', '(', ')', 'Ω', '\\Omega', 'J', 'kg', '=', ' ', ',',
          '²', 'µ', '\\mu', 'A', 'h', 'min', '9' * 30, '$', '\\%', 'nan', 'inf', '\x00', '😀']

@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(_ATOMS), max_size=25), st.integers(0, 299))
def test_verifier_never_raises_on_latexish_noise(parts, i):
    t = task('easy')
    e = t.examples('test')[i % 200]
    v = t.verify('\\boxed{' + ''.join(parts) + '}', e)
    assert isinstance(v, Verdict) and 0 <= v.score <= 1 and v.feedback and v.info['error'] != 'verifier'

@settings(max_examples=300, deadline=None)
@given(st.floats(allow_nan=True, allow_infinity=True), st.sampled_from(['m/s', 'km/h', 'J', 'kWh', 'kΩ', 'mA', 'm', 's', '']),
       st.integers(0, 199))
def test_any_float_any_unit(x, unit, i):
    t = task('easy')
    e = t.examples('test')[i]
    v = t.verify(f"\\boxed{{{x!r} {unit}}}", e)
    assert isinstance(v, Verdict) and v.score in (0.0, 1.0)
    if v.score == 1.0:
        assert math.isfinite(x) and v.info['error'] is None

def test_parse_answer_reads_latex():
    with pytest.raises(ValueError, match='start with a number'): parse_answer(r'\dfrac{25}{2}\,\mathrm{m/s}')
    for text, want in [(r'1.25\times 10^{1}\ \frac{\mathrm{m}}{\mathrm{s}}', (12.5, 'meter / second')),
                       (r'$12.5\ \text{m}\cdot\text{s}^{-1}$', (12.5, 'meter / second')),
                       (r'E \approx 3.0\,\mathrm{kWh}', (3.0, 'kilowatt_hour'))]:
        x, u = parse_answer(text)
        assert (x, str(u)) == want

def test_generation_is_deterministic_and_seeded():
    a = Physics('easy').generate('test')
    assert a == Physics('easy').generate('test')
    b = Physics('easy', seed=1).generate('test')
    assert [e['question'] for e in a] != [e['question'] for e in b]
    t = Physics(None, levels=['paper'], topics=['circuits'], n_train=20, n_test=10)
    assert {e['kind'] for e in t.examples('train')} <= {'internal', 'divider_power'} and t.preset is None

def test_paper_split_regenerates_to_its_manifest():
    man = regenerate('physics', 'paper', check=True, write=False)
    assert man['splits']['train']['n'] == 2000

@pytest.mark.parametrize('bad,match', [(dict(levels=['hard']), "valid levels: tiny, easy, paper"),
                                       (dict(topics=['optics']), "valid topics: kinematics"),
                                       (dict(rtol=0), "rtol=0"), (dict(any_unit=2), "any_unit=2"),
                                       (dict(preset='huge'), "presets: tiny, easy, paper")])
def test_bad_config_names_the_valid_values(bad, match):
    with pytest.raises(ConfigError, match=match): get_task('physics', **bad)

def test_too_few_distinct_problems_is_a_clear_error(monkeypatch):
    import fst_nb.tasks_physics as tp
    def coin(r): return dict(text=f"Is it {r.choice([1, 2])} V?", answer=tp.Q(1, 'V'), ask=['V'], units=['V'],
                             formula='U = U', wrong=[])
    monkeypatch.setattr(tp, 'TEMPLATES', {'coin': ('circuits', 'tiny', coin)})
    with pytest.raises(ConfigError, match='only 2 distinct test problems'):
        Physics(None, n_train=10, n_test=3).generate('train')
