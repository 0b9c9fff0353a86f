"""fsched's Python runtime: hosts one handler in a persistent instance.

Speaks the instance protocol (docs/runtimes.md): request frames on fd 3,
reply frames on fd 4, each a 4-byte little-endian length and tag-length-value
fields. The handler is FSCHED_HANDLER="module:function", imported once from
the working directory (the function's code). It gets the payload as bytes
(and, if it takes two arguments, a context with the invocation id and the
deadline) and returns bytes, a str (sent as UTF-8) or None. What it prints
goes to the function's log. Standard library only.
"""

import concurrent.futures
import importlib
import inspect
import os
import struct
import sys
import threading
import time
import traceback

REQUEST_FD, REPLY_FD = 3, 4
READY, OK, ERROR, INIT_FAILED = 0, 1, 2, 3
# Request fields.
ID, PAYLOAD, DEADLINE, ENV = 1, 2, 3, 4
# Reply fields.
KIND, REPLY_ID, OUTPUT, ERROR_TEXT, DURATION_NS = 1, 2, 3, 4, 5
MAX_FRAME = 256 << 20


class Context:
    """What a two-argument handler learns about its call."""

    def __init__(self, invocation_id, deadline_ms):
        self.invocation_id = invocation_id
        self.deadline_ms = deadline_ms

    def remaining_ms(self):
        return max(0, self.deadline_ms - int(time.time() * 1000))


_pending = bytearray()  # read from the request pipe, not yet taken


def read_exact(n):
    # A frame's header and body usually arrive in one read.
    while len(_pending) < n:
        chunk = os.read(REQUEST_FD, max(n - len(_pending), 1 << 16))
        if not chunk:
            return None
        _pending.extend(chunk)
    taken = bytes(_pending[:n])
    del _pending[:n]
    return taken


def read_frame():
    header = read_exact(4)
    if header is None:
        return None
    (length,) = struct.unpack("<I", header)
    if length > MAX_FRAME:
        raise ValueError("request frame of %d bytes" % length)
    return read_exact(length)


def fields(body):
    at = 0
    while at < len(body):
        tag, length = struct.unpack_from("<BI", body, at)
        at += 5
        yield tag, body[at:at + length]
        at += length


def field(tag, value):
    return struct.pack("<BI", tag, len(value)) + value


def u64(tag, n):
    return field(tag, struct.pack("<Q", n))


SEND_LOCK = threading.Lock()  # replies of concurrent calls do not interleave


def send(kind, invocation_id=b"", output=b"", error="", duration_ns=0):
    body = (u64(KIND, kind) + field(REPLY_ID, invocation_id) + field(OUTPUT, output) +
            field(ERROR_TEXT, error.encode("utf-8", "replace")) + u64(DURATION_NS, duration_ns))
    frame = struct.pack("<I", len(body)) + body
    with SEND_LOCK:
        view = memoryview(frame)
        while view:
            view = view[os.write(REPLY_FD, view):]


def as_bytes(result):
    if result is None:
        return b""
    if isinstance(result, (bytes, bytearray, memoryview)):
        return bytes(result)
    if isinstance(result, str):
        return result.encode("utf-8")
    raise TypeError("the handler returned %s; return bytes, str or None" % type(result).__name__)


def load_handler():
    spec = os.environ.get("FSCHED_HANDLER", "")
    module_name, sep, function_name = spec.partition(":")
    if not sep or not module_name or not function_name:
        raise ValueError("FSCHED_HANDLER is %r; it must be module:function" % spec)
    sys.path.insert(0, os.getcwd())
    handler = getattr(importlib.import_module(module_name), function_name)
    if not callable(handler):
        raise TypeError("%s is not callable" % spec)
    try:
        takes_context = len(inspect.signature(handler).parameters) >= 2
    except (TypeError, ValueError):
        takes_context = False
    return handler, takes_context


def main():
    try:
        handler, takes_context = load_handler()
    except BaseException:  # whatever the import raised is the reason it failed
        text = traceback.format_exc()
        sys.stderr.write(text)
        sys.stderr.flush()
        send(INIT_FAILED, error=text.strip().splitlines()[-1])
        return 1
    # FSCHED_CONCURRENCY > 1: calls run at once, each on a thread of its own
    # (the handler must be thread-safe); otherwise one after another here.
    concurrency = int(os.environ.get("FSCHED_CONCURRENCY", "1") or 1)
    threads = (concurrent.futures.ThreadPoolExecutor(max_workers=concurrency)
               if concurrency > 1 else None)
    send(READY)
    while True:
        body = read_frame()
        if body is None:  # the worker closed the pipe: the instance ends
            if threads is not None:
                os._exit(0)  # calls still running on threads do not hold it up
            return 0
        invocation_id, payload, deadline_ms = b"", b"", 0
        for tag, value in fields(body):
            if tag == ID:
                invocation_id = value
            elif tag == PAYLOAD:
                payload = value
            elif tag == DEADLINE:
                (deadline_ms,) = struct.unpack("<Q", value)
            elif tag == ENV and threads is None:  # per call: meaningless when calls overlap
                key, _, val = value.decode("utf-8", "replace").partition("=")
                os.environ[key] = val
        call = (handler, takes_context, invocation_id, payload, deadline_ms)
        if threads is None:
            serve(*call)
        else:
            threads.submit(serve, *call)


def serve(handler, takes_context, invocation_id, payload, deadline_ms):
    start = time.perf_counter_ns()
    try:
        if takes_context:
            result = handler(payload, Context(invocation_id.decode(), deadline_ms))
        else:
            result = handler(payload)
        output, error = as_bytes(result), None
    except Exception:  # the handler's failure is the call's result
        text = traceback.format_exc()
        sys.stderr.write(text)
        output, error = b"", text.strip().splitlines()[-1]
    duration = time.perf_counter_ns() - start
    sys.stdout.flush()
    sys.stderr.flush()
    if error is None:
        send(OK, invocation_id, output, duration_ns=duration)
    else:
        send(ERROR, invocation_id, error=error, duration_ns=duration)


if __name__ == "__main__":
    sys.exit(main())
