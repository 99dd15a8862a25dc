"""A Dagster logger that prints one short line per asset step, check and failure to stderr."""

import logging
import re
import sys
import time

import dagster as dg

_EVENTS = {
    "STEP_START": "running",
    "STEP_FAILURE": "FAILED",
    "STEP_SKIPPED": "skipped",
    "ASSET_MATERIALIZATION": "stored",
    "ASSET_CHECK_EVALUATION": "check",
}


class ProgressHandler(logging.Handler):
    """Formats Dagster step/asset/check events as ``[  3.2s] asset step … status``."""

    def __init__(self, stream=None) -> None:
        super().__init__(logging.DEBUG)
        self.stream = stream or sys.stderr
        self.t0 = time.monotonic()

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is None:
            if record.levelno >= logging.WARNING:
                self._line(f"{meta.get('step_key') or ''} {record.levelname.lower()}: {record.getMessage()}")
            return
        kind = event.event_type_value
        if kind not in _EVENTS:
            return
        step = event.step_key or ""
        detail = ""
        if kind == "ASSET_MATERIALIZATION":
            mat = event.event_specific_data.materialization
            rows = mat.metadata.get("rows")
            detail = f"{mat.asset_key.to_user_string()}" + (f" ({rows.value} rows)" if rows is not None else "")
        elif kind == "ASSET_CHECK_EVALUATION":
            ev = event.event_specific_data
            detail = f"{ev.check_name}: {'passed' if ev.passed else 'FAILED'}"
            if not ev.passed and ev.description:
                detail += f" — {ev.description}"
        elif kind == "STEP_FAILURE":
            err = event.event_specific_data.error
            detail = _failure_text(err)
        self._line(f"{step:<28} {_EVENTS[kind]:<7} {detail}".rstrip())

    def _line(self, text: str) -> None:
        self.stream.write(f"[{time.monotonic() - self.t0:6.1f}s] {text}\n")
        self.stream.flush()


def _failure_text(err) -> str:
    """The readable part of a step failure: the Failure description or the innermost message."""
    if err is None:
        return ""
    while err.cause is not None and "Failure" not in (err.cls_name or ""):
        err = err.cause
    text = (err.message or "").strip()
    text = _EXC_PREFIX.sub("", text)
    return text.splitlines()[0] if text else ""


_EXC_PREFIX = re.compile(r"^[\w.]+(?:Error|Exception|Failure): ")


@dg.logger(description="One line per asset step on stderr (used by `fabscope refresh`).")
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.getLogger("fabscope.progress")
    logger.handlers = [ProgressHandler()]
    logger.setLevel(logging.DEBUG)  # Dagster logs step events at DEBUG
    logger.propagate = False
    return logger
