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
    "RESOURCE_INIT_FAILURE": "FAILED",  # e.g. the warehouse could not be staged (lock, newer schema)
    "PIPELINE_FAILURE": "FAILED",  # only shown when the run itself raised (see emit)
    "RUN_FAILURE": "FAILED",
}
# "Dependencies for step X failed: ['a']. Not executing." / "... were not executed: ['b']. Not executing."
_UPSTREAM = re.compile(
    r"^Dependencies for step \S+(?: failed: (\[[^\]]*\]))?(?: were not executed: (\[[^\]]*\]))?"
)


class ProgressHandler(logging.Handler):
    """Formats Dagster step/asset/check events as ``[  3.2s] asset step … status``."""

    def __init__(self, stream=None) -> None:
        super().__init__(logging.DEBUG)
        self.stream = stream or sys.stderr
        self.t0 = time.monotonic()
        self._last_run_failure: str | None = None

    def emit(self, record: logging.LogRecord) -> None:
        meta = getattr(record, "dagster_meta", None) or {}
        event = meta.get("dagster_event")
        if event is None:
            if record.levelno >= logging.WARNING:
                step = meta.get("step_key") or ""
                text = (meta.get("orig_message") or record.getMessage()).strip()
                upstream = _UPSTREAM.match(text)
                if upstream:  # Dagster's "not executing" notice for a step downstream of a failure
                    failed = ", ".join(_names(upstream.group(1)) or _names(upstream.group(2)))
                    self._line(f"{step:<28} {'skipped':<7} upstream {failed or 'step'} did not succeed")
                else:
                    self._line(f"{step} {record.levelname.lower()}: {text}".strip())
            return
        kind = event.event_type_value
        if kind not in _EVENTS:
            return
        step = event.step_key or ""
        detail = ""
        if kind in ("RESOURCE_INIT_FAILURE", "PIPELINE_FAILURE", "RUN_FAILURE"):
            err = getattr(event.event_specific_data, "error", None)
            if err is None:  # a run that failed because a step failed: that step was already reported
                return
            text = _failure_text(err)
            if text != self._last_run_failure:  # resource-init failure, then the run failure, same error
                self._line(f"{step or 'run':<28} FAILED  {text}".rstrip())
            self._last_run_failure = text
            return
        if kind == "ASSET_MATERIALIZATION":
            mat = event.event_specific_data.materialization
            rows = mat.metadata.get("rows")
            detail = f"{mat.asset_key.to_user_string()}" + (
                f" ({rows.value} rows)" if rows is not None else ""
            )
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
    if (err.cls_name or "").endswith("InterruptedError"):
        return "interrupted"
    text = (err.message or "").strip()
    text = _EXC_PREFIX.sub("", text)
    return text.splitlines()[0] if text else ""


def _names(listed: str | None) -> list[str]:
    """``"['a', 'b']"`` → ``['a', 'b']``."""
    return re.findall(r"'([^']+)'", listed or "")


_EXC_PREFIX = re.compile(r"^[\w.]+(?:Error|Exception|Failure): ")


@dg.logger(description="One line per asset step on stderr (used by `fabscope refresh`).")
def progress_logger(init_context: dg.InitLoggerContext) -> logging.Logger:
    logger = logging.getLogger("fabscope.progress")
    logger.handlers = [ProgressHandler()]
    logger.setLevel(logging.DEBUG)  # Dagster logs step events at DEBUG
    logger.propagate = False
    return logger
