"""Resume and exclusion for a run's output: the progress file, resuming from it, and the lock.

After each chunk is flushed, ``OUT.progress.json`` records how many inputs were consumed and
the byte sizes of the output and error files; a fresh run writes it before its first record,
so a run killed at any point can be resumed. ``--resume`` truncates both files back to those
sizes (dropping a half-written chunk or a torn last line) and skips the inputs already
consumed. ``OUT.lock`` (an advisory ``flock``) keeps a second run off the same output; the
kernel releases it when the process exits, crash or not.
"""

from __future__ import annotations

import dataclasses
import json
import logging
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import IO, Any

from inference.batch.sinks import STDERR
from inference.batch.writers import RESUMABLE_FORMATS, truncate_to
from inference.errors import UserError
from inference.text.ingest import PROGRESS_FILE_SUFFIX

log = logging.getLogger(__name__)

PROGRESS_SUFFIX = PROGRESS_FILE_SUFFIX
LOCK_SUFFIX = ".lock"


def progress_path(out: str) -> Path:
    return Path(out + PROGRESS_SUFFIX)


def lock_path(out: str) -> Path:
    return Path(out + LOCK_SUFFIX)


@dataclass
class Checkpoint:
    """What a resumed run needs: inputs consumed and the file sizes after the last chunk."""

    job: dict[str, Any]
    items: int = 0
    output_bytes: int = 0
    errors_bytes: int = 0
    complete: bool = False
    totals: dict[str, Any] = field(default_factory=dict)

    def save(self, path: Path) -> None:
        tmp = path.with_name(path.name + ".tmp")
        tmp.write_text(json.dumps(dataclasses.asdict(self), ensure_ascii=False),
                       encoding="utf-8")
        os.replace(tmp, path)

    @classmethod
    def load(cls, path: Path) -> Checkpoint:
        """Raises UserError naming the file when it is not a progress file of this version."""
        def corrupt(why: str) -> UserError:
            return UserError(f"cannot resume: {path} is not a valid progress file ({why}); "
                             "delete it and the output, and rerun without --resume")

        try:
            data = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, ValueError, RecursionError) as exc:
            raise corrupt(f"{type(exc).__name__}: {exc}") from exc
        if not isinstance(data, dict):
            raise corrupt(f"a JSON {type(data).__name__}, not an object")
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise corrupt(f"unknown keys {unknown}")
        if "job" not in data or not isinstance(data["job"], dict):
            raise corrupt("no 'job' object")
        for name in ("items", "output_bytes", "errors_bytes"):
            value = data.get(name, 0)
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise corrupt(f"{name!r} is {value!r}, not a count")
        if not isinstance(data.get("complete", False), bool) or not isinstance(
                data.get("totals", {}), dict):
            raise corrupt("'complete' or 'totals' has the wrong type")
        return cls(**data)


def start_or_resume(job: dict[str, Any], out: str, errors_path: str, fmt: str,
                    resume: bool) -> Checkpoint | None:
    """The checkpoint to continue from (files truncated to it), or None for a fresh run."""
    if not resume:
        return None
    if out == "-":
        raise UserError("--resume needs an output file (-o OUT), not stdout")
    if fmt not in RESUMABLE_FORMATS:
        raise UserError(f"--resume works with --format {' or '.join(RESUMABLE_FORMATS)}; a "
                        f"{fmt} file is unreadable until closed, so a killed one cannot be "
                        "continued (write jsonl/csv and convert)")
    marker = progress_path(out)
    if not marker.is_file():
        if Path(out).is_file() and Path(out).stat().st_size > 0:
            raise UserError(f"cannot resume {out}: {marker.name} is missing (it was not "
                            "written by this version, or was deleted); rerun without --resume")
        log.info("nothing to resume at %s: starting a fresh run", out)
        return None
    checkpoint = Checkpoint.load(marker)
    if checkpoint.job != job:
        raise UserError(f"cannot resume {out}: it was started with different inputs or "
                        f"settings ({checkpoint.job}); rerun without --resume or use the same "
                        "arguments")
    for path, size in ((out, checkpoint.output_bytes), (errors_path, checkpoint.errors_bytes)):
        if path == STDERR:
            continue
        if not Path(path).is_file() or Path(path).stat().st_size < size:
            raise UserError(f"cannot resume: {path} is shorter than its checkpoint "
                            f"({size} bytes); rerun without --resume")
        truncate_to(path, size)
    return checkpoint


class OutputLock:
    """An advisory lock on ``OUT.lock``: one run per output at a time.

    The lock file stays behind (removing it would let a third run lock a fresh file while a
    second still holds the old one); only the lock matters, and it dies with the process.
    """

    def __init__(self, out: str) -> None:
        self.path = lock_path(out)
        self._handle: IO[str] | None = None

    def acquire(self) -> OutputLock:
        import fcntl

        self.path.parent.mkdir(parents=True, exist_ok=True)
        handle = open(self.path, "a+", encoding="utf-8")  # noqa: SIM115 - held for the run
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError as exc:
            handle.close()
            raise UserError(f"{self.path.with_suffix('')} is being written by another run "
                            f"(it holds {self.path}); wait for it to finish, or write to "
                            "another -o") from exc
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        self._handle = handle
        return self

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing the descriptor drops the flock
            self._handle = None
