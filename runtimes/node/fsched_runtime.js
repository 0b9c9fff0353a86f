'use strict';
// fsched's Node.js runtime: hosts one handler in a persistent instance.
//
// Speaks the instance protocol (docs/runtimes.md): request frames on fd 3,
// reply frames on fd 4, each a 4-byte little-endian length and
// tag-length-value fields. The handler is FSCHED_HANDLER="file.js:export",
// loaded once from the working directory (the function's code). It gets the
// payload as a Buffer (and a context with the invocation id and the
// deadline), may be async, and returns a Buffer, a string or nothing. What it
// logs goes to the function's log. Node's standard library only.

const fs = require('fs');
const path = require('path');

const REQUEST_FD = 3;
const REPLY_FD = 4;
const READY = 0, OK = 1, ERROR = 2, INIT_FAILED = 3;
const ID = 1, PAYLOAD = 2, DEADLINE = 3, ENV = 4;
const KIND = 1, REPLY_ID = 2, OUTPUT = 3, ERROR_TEXT = 4, DURATION_NS = 5;
const MAX_FRAME = 256 * 1024 * 1024;

function readExact(n) {
  const out = Buffer.allocUnsafe(n);
  let at = 0;
  while (at < n) {
    let got;
    try {
      got = fs.readSync(REQUEST_FD, out, at, n - at, null);
    } catch (e) {
      if (e.code === 'EAGAIN' || e.code === 'EINTR') continue;
      throw e;
    }
    if (got === 0) return null;
    at += got;
  }
  return out;
}

function readFrame() {
  const header = readExact(4);
  if (header === null) return null;
  const length = header.readUInt32LE(0);
  if (length > MAX_FRAME) throw new Error(`request frame of ${length} bytes`);
  return readExact(length);
}

function field(tag, value) {
  const head = Buffer.allocUnsafe(5);
  head.writeUInt8(tag, 0);
  head.writeUInt32LE(value.length, 1);
  return [head, value];
}

function u64(tag, n) {
  const value = Buffer.alloc(8);
  value.writeBigUInt64LE(BigInt(n), 0);
  return field(tag, value);
}

function send(kind, id = Buffer.alloc(0), output = Buffer.alloc(0), error = '', durationNs = 0n) {
  const body = Buffer.concat([
    ...u64(KIND, kind), ...field(REPLY_ID, id), ...field(OUTPUT, output),
    ...field(ERROR_TEXT, Buffer.from(error, 'utf8')), ...u64(DURATION_NS, durationNs),
  ]);
  const frame = Buffer.allocUnsafe(4 + body.length);
  frame.writeUInt32LE(body.length, 0);
  body.copy(frame, 4);
  let at = 0;
  while (at < frame.length) at += fs.writeSync(REPLY_FD, frame, at, frame.length - at);
}

function asBuffer(result) {
  if (result === undefined || result === null) return Buffer.alloc(0);
  if (Buffer.isBuffer(result)) return result;
  if (result instanceof Uint8Array) return Buffer.from(result);
  if (typeof result === 'string') return Buffer.from(result, 'utf8');
  throw new TypeError(`the handler returned ${typeof result}; return a Buffer, a string or nothing`);
}

function loadHandler() {
  const spec = process.env.FSCHED_HANDLER || '';
  const colon = spec.lastIndexOf(':');
  if (colon <= 0 || colon === spec.length - 1) {
    throw new Error(`FSCHED_HANDLER is '${spec}'; it must be file.js:export`);
  }
  const file = path.resolve(process.cwd(), spec.slice(0, colon));
  const handler = require(file)[spec.slice(colon + 1)];
  if (typeof handler !== 'function') throw new TypeError(`${spec} is not a function`);
  return handler;
}

function lastLine(text) {
  const lines = String(text).trim().split('\n');
  return lines[lines.length - 1];
}

function parseRequest(body, applyEnv) {
  let id = Buffer.alloc(0), payload = Buffer.alloc(0), deadlineMs = 0;
  for (let at = 0; at < body.length;) {
    const tag = body.readUInt8(at);
    const length = body.readUInt32LE(at + 1);
    const value = body.subarray(at + 5, at + 5 + length);
    at += 5 + length;
    if (tag === ID) id = Buffer.from(value);
    else if (tag === PAYLOAD) payload = Buffer.from(value);
    else if (tag === DEADLINE) deadlineMs = Number(value.readBigUInt64LE(0));
    else if (tag === ENV && applyEnv) {  // per call: meaningless when calls overlap
      const text = value.toString('utf8');
      const eq = text.indexOf('=');
      if (eq > 0) process.env[text.slice(0, eq)] = text.slice(eq + 1);
    }
  }
  return { id, payload, deadlineMs };
}

async function serve(handler, { id, payload, deadlineMs }) {
  const context = {
    invocationId: id.toString('utf8'),
    deadlineMs,
    remainingMs: () => Math.max(0, deadlineMs - Date.now()),
  };
  const start = process.hrtime.bigint();
  let output = null, error = null;
  // A handler whose promise never settles leaves Node nothing to wait on,
  // and Node would exit: this timer keeps the instance up until the
  // worker's timeout says otherwise.
  const keepAlive = setInterval(() => {}, 1 << 30);
  try {
    output = asBuffer(await handler(payload, context));
  } catch (e) {
    process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
    error = e && e.message !== undefined ? `${e.name || 'Error'}: ${e.message}` : lastLine(e);
  } finally {
    clearInterval(keepAlive);
  }
  const duration = process.hrtime.bigint() - start;
  if (error === null) send(OK, id, output, '', duration);
  else send(ERROR, id, undefined, error, duration);
}

// FSCHED_CONCURRENCY > 1: requests are read as they come and their handlers
// run at once (async handlers overlap; replies go out as each settles).
function serveConcurrently(handler) {
  return new Promise((resolve) => {
    const input = fs.createReadStream(null, { fd: REQUEST_FD, highWaterMark: 1 << 20 });
    let buffer = Buffer.alloc(0);
    input.on('data', (chunk) => {
      buffer = buffer.length > 0 ? Buffer.concat([buffer, chunk]) : chunk;
      while (buffer.length >= 4) {
        const length = buffer.readUInt32LE(0);
        if (length > MAX_FRAME) {
          process.stderr.write(`request frame of ${length} bytes\n`);
          resolve(1);
          return;
        }
        if (buffer.length < 4 + length) break;
        const body = buffer.subarray(4, 4 + length);
        buffer = buffer.subarray(4 + length);
        serve(handler, parseRequest(body, false));
      }
    });
    input.on('end', () => resolve(0));  // the worker closed the pipe: the instance ends
    input.on('error', (e) => {
      process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
      resolve(1);
    });
  });
}

async function main() {
  let handler;
  try {
    handler = loadHandler();
  } catch (e) {
    process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
    send(INIT_FAILED, undefined, undefined, e && e.message ? e.message : String(e));
    return 1;
  }
  const concurrency = Number(process.env.FSCHED_CONCURRENCY || '1');
  send(READY);
  if (concurrency > 1) return serveConcurrently(handler);
  for (;;) {
    const body = readFrame();
    if (body === null) return 0;  // the worker closed the pipe: the instance ends
    await serve(handler, parseRequest(body, true));
  }
}

main().then((code) => process.exit(code), (e) => {
  process.stderr.write(`${e && e.stack ? e.stack : e}\n`);
  process.exit(1);
});
