"""Log output: a filter that keeps exception text (SQL, parameters, values) out of the
log, and the JSON lines of LOG_FORMAT=json."""

from __future__ import annotations

import logging
import traceback

import orjson


class NoExceptionText(logging.Filter):
    """Replaces a record's attached exception by its type and frames: the traceback's
    file/line/function lines stay (they help find a bug), the exception's message, which
    can hold SQL and patient values, goes."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and record.exc_info[1] is not None:
            exc = record.exc_info[1]
            frames = "".join(traceback.format_tb(exc.__traceback__)).rstrip()
            record.msg = f"{record.getMessage()} [{type(exc).__name__}]\n{frames}"
            record.args = None
            record.exc_info = None
            record.exc_text = None
        return True


class JsonLines(logging.Formatter):
    """One JSON object per line: time, level, logger, process, and the record's own fields
    (the request line's method, status, ...) or else its message."""

    def format(self, record: logging.LogRecord) -> str:
        data: dict[str, object] = {
            "time": self.formatTime(record),
            "level": record.levelname,
            "logger": record.name,
            "process": record.process,
        }
        fields = getattr(record, "fields", None)
        if isinstance(fields, dict):
            data.update(fields)
        else:
            data["message"] = record.getMessage()
        return orjson.dumps(data, default=str).decode()
