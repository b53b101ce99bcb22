"""Commands of the training side (labels, weak labels, backbone, train, evaluate, review loop).

Each module that owns a command exposes ``add_cli(subparsers)``; this list is what the
``policy-clauses`` entry point registers.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable

Register = Callable[[argparse._SubParsersAction], None]


def _registrations() -> list[Register]:
    from training import backbone, labels_cli, review_cli, train_cli

    return [labels_cli.add_cli, backbone.add_cli, train_cli.add_cli, review_cli.add_cli]


REGISTER: list[Register] = _registrations()
