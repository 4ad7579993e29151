"""Settings of the test suite: the node's settings with the public demo values of
scripts/demo.env (DEBUG and the three keys) set explicitly, as `make run` does. They go
into the environment, so node processes the tests start get them too; a test that checks
the refusal of unsafe settings removes them from its subprocess's environment."""

import os
from pathlib import Path

for _line in (
    (Path(__file__).resolve().parents[1] / "scripts" / "demo.env").read_text().splitlines()
):
    _name, _sep, _value = _line.partition("=")
    if _sep and not _line.lstrip().startswith("#"):
        os.environ.setdefault(_name.strip(), _value.strip())

from tongban.settings import *  # noqa: E402, F403
