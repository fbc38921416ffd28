"Loading a model with no terminal on stderr prints no 'Loading weights' progress bar, and leaves transformers' bars as they were."
from transformers.utils import logging as hf_logging
from fst_nb.models import load_policy

def test_no_loading_bar_without_a_terminal(capfd):
    assert hf_logging.is_progress_bar_enabled()
    load_policy('tiny')                      # pytest's captured stderr is not a TTY
    assert 'Loading weights' not in capfd.readouterr().err
    assert hf_logging.is_progress_bar_enabled()
