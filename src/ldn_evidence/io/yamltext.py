"""Safe YAML loading with libyaml's C parser when PyYAML has it (configuration and schemas).

``yaml.safe_load`` scans and parses in pure Python: a schema or ``config/certainty.yaml`` takes
0.1-0.2 s. ``yaml.CSafeLoader`` does the scanning and parsing in libyaml and keeps PyYAML's
Python resolver and ``SafeConstructor``, so the loaded data are the same. Error messages are
not: libyaml's marks carry no source snippet. So a document that libyaml refuses is parsed again
with the pure-Python ``SafeLoader``, whose data or whose error (message and marks) is then
exactly what ``yaml.safe_load`` gives. Study files have their own loader
(:mod:`ldn_evidence.io.studyfile`), which needs node marks for its messages.
"""

from __future__ import annotations

from typing import Any

import yaml

#: libyaml's parser with PyYAML's safe constructor; the pure-Python loader without libyaml.
FAST_SAFE_LOADER: type = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def safe_load(text: str) -> Any:
    """Load one YAML document as ``yaml.safe_load(text)`` does, with libyaml when present.

    Parameters
    ----------
    text : str
        The YAML document.

    Returns
    -------
    object
        The data, as ``yaml.safe_load`` returns them.

    Raises
    ------
    yaml.YAMLError
        The pure-Python loader's error, as ``yaml.safe_load`` raises it.
    """
    if FAST_SAFE_LOADER is not yaml.SafeLoader:
        try:
            return yaml.load(text, Loader=FAST_SAFE_LOADER)  # a safe loader
        except yaml.YAMLError:
            pass  # parsed again below, for the pure-Python loader's data or message
    return yaml.safe_load(text)
