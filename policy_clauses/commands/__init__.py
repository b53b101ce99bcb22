"""The subcommands beside ``predict`` and ``segment``: labels, backbone, dapt, train,
evaluate and the review loop. Each module exposes ``add_cli(subparsers)``; this list is what the
``policy-clauses`` entry point registers."""

from __future__ import annotations

import argparse
from collections.abc import Callable

Register = Callable[[argparse._SubParsersAction], None]


def registrations() -> list[Register]:
    from policy_clauses.commands import card, labels, review, serve, train
    from training.fit import backbone, dapt

    return [labels.add_cli, backbone.add_cli, dapt.add_cli, train.add_cli, review.add_cli,
            card.add_cli, serve.add_cli]
