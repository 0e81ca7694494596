'use strict';
// Gust's Node.js runtime: loads the function's handler, then serves invocations from the host
// over fd 3 with the frame protocol of api/runtime-protocol.md. Handler loading, the context
// object, callback semantics, error shapes and log lines follow AWS's Node runtime interface
// client (aws-lambda-nodejs-runtime-interface-client: UserFunction.js, CallbackContext.js,
// Errors.js, LogPatch.js) so that code written for Lambda behaves the same here.
//
// The channel is read synchronously between invocations: nothing of ours keeps the event loop
// alive while a handler runs, so 'beforeExit' tells us when the loop is empty (the
// callbackWaitsForEmptyEventLoop contract), and pending timers stay frozen between invocations
// as on Lambda.
//
// With --deferred-init the runtime starts before its function is known (a pre-started
// instance): it loads itself, sends READY and waits for INIT, which brings the function's
// environment; then it goes on exactly as a fresh start does.
const fs = require('fs');
const path = require('path');
const url = require('url');
const util = require('util');

const CHANNEL_FD = 3;
const HEADER_BYTES = 16; // '<IBBHQ': length, type, flags, meta_length, seq
const INIT = 1;
const INIT_OK = 2;
const INIT_ERROR = 3;
const INVOKE = 4;
const RESULT = 5;
const ERROR = 6;
const READY = 7;
// Lambda's response limit; the host rejects frames beyond this plus room for metadata.
const MAX_RESULT_BYTES = 6 * 1024 * 1024 + 100;

// ---- Errors (Errors.js) ----

function runtimeErrorClass(name, ctor) {
  const cls = ctor || class extends Error {};
  Object.defineProperty(cls, 'name', { value: name });
  cls.prototype.name = `Runtime.${name}`;
  return cls;
}
const ImportModuleError = runtimeErrorClass('ImportModuleError');
const HandlerNotFound = runtimeErrorClass('HandlerNotFound');
const MalformedHandlerName = runtimeErrorClass('MalformedHandlerName');
const UserCodeSyntaxError = runtimeErrorClass('UserCodeSyntaxError');
const UnhandledPromiseRejection = runtimeErrorClass(
  'UnhandledPromiseRejection',
  class extends Error {
    constructor(reason, promise) {
      super(reason);
      this.reason = reason;
      this.promise = promise;
    }
  },
);

function isError(value) {
  return (
    util.types.isNativeError(value) ||
    (value && typeof value === 'object' && typeof value.name === 'string' &&
      typeof value.message === 'string' && typeof value.stack === 'string')
  );
}

// The error JSON sent to the host: {errorType, errorMessage, trace} (`trace`, not `stackTrace`).
function toRapidResponse(error) {
  try {
    if (isError(error)) {
      return {
        errorType: error.name,
        errorMessage: error.message,
        trace: String(error.stack).split('\n'),
      };
    }
    return { errorType: typeof error, errorMessage: String(error), trace: [] };
  } catch (_) {
    return {
      errorType: 'handled',
      errorMessage:
        'callback called with Error argument, but there was a problem while retrieving one or ' +
        'more of its message, name, and stack',
    };
  }
}

function withEnumerableProperties(error) {
  if (error instanceof Error) {
    const ret = Object.assign(
      { errorType: error.name, errorMessage: error.message, code: error.code },
      error,
    );
    if (typeof error.stack === 'string') ret.stack = error.stack.split('\n');
    return ret;
  }
  return error;
}

function toFormatted(error) {
  try {
    return '\t' + JSON.stringify(error, (_k, v) => withEnumerableProperties(v));
  } catch (_) {
    return '\t' + JSON.stringify(toRapidResponse(error));
  }
}

// ---- Logs (LogPatch.js, text format) ----

let currentRequestId; // undefined during init, printed as such, as on Lambda

function patchConsole() {
  const write = (level) =>
    function (...args) {
      // A multi-line message stays one record: newlines become carriage returns.
      const message = util.format(...args).replace(/\n/g, '\r');
      process.stdout.write(
        `${new Date().toISOString()}\t${currentRequestId}\t${level}\t${message}\n`,
      );
    };
  console.log = write('INFO');
  console.info = write('INFO');
  console.warn = write('WARN');
  console.error = write('ERROR');
  console.debug = write('DEBUG');
  console.fatal = write('FATAL');
  const trace = write('TRACE');
  console.trace = function (...args) {
    const err = new Error();
    err.name = 'Trace';
    err.message = util.format(...args);
    Error.captureStackTrace(err, console.trace);
    trace(err.stack);
  };
}

// ---- The channel (fd 3) ----

function readExact(n) {
  const buf = Buffer.allocUnsafe(n);
  let got = 0;
  while (got < n) {
    let r;
    try {
      r = fs.readSync(CHANNEL_FD, buf, got, n - got, null);
    } catch (e) {
      if (e.code === 'EINTR') continue;
      if (e.code === 'ECONNRESET') return null;
      throw e;
    }
    if (r === 0) return null;
    got += r;
  }
  return buf;
}

function readFrame() {
  const header = readExact(HEADER_BYTES);
  if (header === null) return null;
  const length = header.readUInt32LE(0);
  const type = header.readUInt8(4);
  const metaLength = header.readUInt16LE(6);
  const seq = header.readBigUInt64LE(8);
  const payload = length > 0 ? readExact(length) : Buffer.alloc(0);
  if (payload === null) return null;
  return { type, seq, meta: payload.subarray(0, metaLength), body: payload.subarray(metaLength) };
}

function sendFrame(type, seq, body, meta) {
  const metaBytes = meta === undefined ? Buffer.alloc(0) : Buffer.from(JSON.stringify(meta), 'utf8');
  const bodyBytes = body === undefined ? Buffer.alloc(0) : Buffer.from(body, 'utf8');
  const header = Buffer.alloc(HEADER_BYTES);
  header.writeUInt32LE(metaBytes.length + bodyBytes.length, 0);
  header.writeUInt8(type, 4);
  header.writeUInt8(0, 5);
  header.writeUInt16LE(metaBytes.length, 6);
  header.writeBigUInt64LE(BigInt(seq), 8);
  const data = Buffer.concat([header, metaBytes, bodyBytes]);
  // stdout/stderr are pipes, written synchronously by Node on Linux: what the handler logged is
  // already in the host's pipes when the reply arrives.
  let off = 0;
  while (off < data.length) off += fs.writeSync(CHANNEL_FD, data, off, data.length - off);
}

// ---- Handler loading (UserFunction.js) ----

const FUNCTION_EXPR = /^([^.]*)\.(.*)$/;
const RELATIVE_PATH_SUBSTRING = '..';

function moduleRootAndHandler(fullHandlerString) {
  const handlerString = path.basename(fullHandlerString);
  const moduleRoot = fullHandlerString.substring(0, fullHandlerString.indexOf(handlerString));
  return [moduleRoot, handlerString];
}

function splitHandlerString(handler) {
  const match = handler.match(FUNCTION_EXPR);
  if (!match || match.length !== 3) throw new MalformedHandlerName('Bad handler');
  return [match[1], match[2]];
}

function resolveHandler(object, nestedProperty) {
  return nestedProperty.split('.').reduce((nested, key) => nested && nested[key], object);
}

function tryRequireFile(file, extension) {
  const p = file + (extension || '');
  return fs.existsSync(p) ? require(p) : undefined;
}

async function tryAwaitImport(file, extension) {
  const p = file + (extension || '');
  return fs.existsSync(p) ? await import(url.pathToFileURL(p).href) : undefined;
}

function hasFolderPackageJsonTypeModule(folder) {
  if (folder.endsWith('/node_modules')) return false;
  const pj = path.join(folder, 'package.json');
  if (fs.existsSync(pj)) {
    try {
      const pkg = JSON.parse(fs.readFileSync(pj));
      return Boolean(pkg) && pkg.type === 'module';
    } catch (e) {
      console.warn(`${pj} cannot be read, it will be ignored for ES module detection purposes.`, e);
      return false;
    }
  }
  if (folder === '/') return false;
  return hasFolderPackageJsonTypeModule(path.resolve(folder, '..'));
}

function hasPackageJsonTypeModule(file) {
  const jsPath = file + '.js';
  return fs.existsSync(jsPath) ? hasFolderPackageJsonTypeModule(path.dirname(jsPath)) : false;
}

async function tryRequire(appRoot, moduleRoot, module) {
  const lambdaStylePath = path.resolve(appRoot, moduleRoot, module);
  const extensionless = tryRequireFile(lambdaStylePath);
  if (extensionless) return extensionless;
  const pjHasModule = hasPackageJsonTypeModule(lambdaStylePath);
  if (!pjHasModule) {
    const loaded = tryRequireFile(lambdaStylePath, '.js');
    if (loaded) return loaded;
  }
  const loaded =
    (pjHasModule && (await tryAwaitImport(lambdaStylePath, '.js'))) ||
    (await tryAwaitImport(lambdaStylePath, '.mjs')) ||
    tryRequireFile(lambdaStylePath, '.cjs');
  if (loaded) return loaded;
  // Not a file under the task root: a package, resolved from the task root like Lambda does.
  const nodeStylePath = require.resolve(module, { paths: [appRoot, moduleRoot] });
  return require(nodeStylePath);
}

async function loadUserApp(appRoot, moduleRoot, module) {
  try {
    return await tryRequire(appRoot, moduleRoot, module);
  } catch (e) {
    if (e instanceof SyntaxError) throw new UserCodeSyntaxError(e);
    if (e && (e.code === 'MODULE_NOT_FOUND' || e.code === 'ERR_MODULE_NOT_FOUND'))
      throw new ImportModuleError(e);
    throw e;
  }
}

async function loadHandler(appRoot, fullHandlerString) {
  if (fullHandlerString.includes(RELATIVE_PATH_SUBSTRING)) {
    throw new MalformedHandlerName(
      `'${fullHandlerString}' is not a valid handler name. Use absolute paths when specifying ` +
        'root directories in handler names.',
    );
  }
  const [moduleRoot, moduleAndHandler] = moduleRootAndHandler(fullHandlerString);
  const [module, handlerPath] = splitHandlerString(moduleAndHandler);
  const userApp = await loadUserApp(appRoot, moduleRoot, module);
  const handlerFunc = resolveHandler(userApp, handlerPath);
  if (!handlerFunc) throw new HandlerNotFound(`${fullHandlerString} is undefined or not exported`);
  if (typeof handlerFunc !== 'function')
    throw new HandlerNotFound(`${fullHandlerString} is not a function`);
  return handlerFunc;
}

// ---- Invocations (Runtime.js, CallbackContext.js, InvokeContext.js) ----

// One listener for 'beforeExit' (the event loop is empty), replaced per invocation.
let beforeExitListener = null;
process.on('beforeExit', () => {
  const listener = beforeExitListener;
  beforeExitListener = null;
  if (listener) listener();
});

// What an uncaught exception or unhandled rejection does, as in Lambda's runtime: it fails the
// current invocation (or init) and the runtime exits, with status 129 after an uncaught
// exception, 128 after an unhandled rejection. Called with (error, exitStatus).
let errorCallback = null;

function postResult(seq, result) {
  let body;
  try {
    body = JSON.stringify(result === undefined ? null : result);
  } catch (_) {
    postError(seq, new Error('Unable to stringify response body'));
    return;
  }
  if (body === undefined) body = 'null';
  if (Buffer.byteLength(body, 'utf8') > MAX_RESULT_BYTES) {
    const err = new Error(
      `Response payload size exceeded maximum allowed payload size (${MAX_RESULT_BYTES} bytes).`,
    );
    err.name = 'Function.ResponseSizeTooLarge';
    postError(seq, err);
    return;
  }
  sendFrame(RESULT, seq, body);
}

function postError(seq, err) {
  console.error('Invoke Error', toFormatted(err));
  sendFrame(ERROR, seq, JSON.stringify(toRapidResponse(err)));
}

// The invocation's error, with word that the runtime exits right after it, so the host does not
// reuse the instance. Lambda's client posts the error without logging it again.
function postErrorAndExit(seq, err, exitStatus) {
  sendFrame(ERROR, seq, JSON.stringify(toRapidResponse(err)), { exiting: true });
  process.exit(exitStatus);
}

// Exits between invocations (the last one was answered): the host sees the channel close and
// sends its next invocation to a new instance.
function exitWhileIdle(exitStatus) {
  try {
    fs.closeSync(CHANNEL_FD);
  } catch (_) {
    // already closed
  }
  process.exit(exitStatus);
}

function buildCallbackContext(seq, scheduleNext) {
  let isInvoked = false;
  let waitForEmptyEventLoop = true;
  const report = (fn) => {
    if (isInvoked) {
      console.error(
        'Invocation has already been reported as done. Cannot call complete more than once ' +
          'per invocation.',
      );
      return;
    }
    isInvoked = true;
    fn();
    scheduleNext();
  };
  const complete = (result) => report(() => postResult(seq, result));
  const fail = (err) => report(() => postError(seq, err));

  const callback = function (err, result) {
    beforeExitListener = null;
    if (err !== undefined && err !== null) {
      fail(err);
    } else if (!waitForEmptyEventLoop) {
      complete(result);
    } else {
      beforeExitListener = () => setImmediate(() => complete(result));
    }
  };
  const done = (err, result) => {
    beforeExitListener = null;
    if (err !== undefined && err !== null) fail(err);
    else complete(result);
  };
  const callbackContext = {
    get callbackWaitsForEmptyEventLoop() {
      return waitForEmptyEventLoop;
    },
    set callbackWaitsForEmptyEventLoop(value) {
      waitForEmptyEventLoop = value;
    },
    succeed: (result) => done(null, result),
    fail: (err) => done(err === undefined || err === null ? 'handled' : err, null),
    done,
  };
  const markCompleted = () => {
    isInvoked = true;
  };
  // An uncaught exception or unhandled rejection: the invocation fails unless it was already
  // answered, and the runtime exits either way.
  const failAndExit = (err, exitStatus) => {
    beforeExitListener = null;
    if (isInvoked) exitWhileIdle(exitStatus);
    isInvoked = true;
    postErrorAndExit(seq, err, exitStatus);
  };
  return [callback, callbackContext, markCompleted, failAndExit];
}

function parseJsonOrUndefined(text) {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch (_) {
    return undefined;
  }
}

function isPromise(value) {
  return value !== null && typeof value === 'object' && typeof value.then === 'function';
}

function handleInvoke(handler, seq, meta, body) {
  const invokeId = meta.request_id;
  currentRequestId = invokeId;
  if (meta.trace_id) process.env._X_AMZN_TRACE_ID = meta.trace_id;
  else delete process.env._X_AMZN_TRACE_ID;
  const scheduleNext = () => setImmediate(nextInvocation, handler);
  const [callback, callbackContext, markCompleted, failAndExit] = buildCallbackContext(
    seq,
    scheduleNext,
  );
  // Also for errors after the answer, until the next invocation replaces it: as on Lambda, the
  // runtime exits and the next invocation gets a new one.
  errorCallback = failAndExit;
  // A handler that never reports a result ends with null once the event loop is empty.
  beforeExitListener = () => {
    markCompleted();
    postResult(seq, undefined);
    scheduleNext();
  };
  const deadlineMs = Number(meta.deadline_ms || 0);
  const context = Object.assign(callbackContext, {
    functionVersion: process.env.AWS_LAMBDA_FUNCTION_VERSION,
    functionName: process.env.AWS_LAMBDA_FUNCTION_NAME,
    memoryLimitInMB: process.env.AWS_LAMBDA_FUNCTION_MEMORY_SIZE,
    logGroupName: process.env.AWS_LAMBDA_LOG_GROUP_NAME,
    logStreamName: process.env.AWS_LAMBDA_LOG_STREAM_NAME,
    clientContext: parseJsonOrUndefined(meta.client_context),
    identity: parseJsonOrUndefined(meta.cognito_identity),
    invokedFunctionArn: meta.invoked_function_arn,
    awsRequestId: invokeId,
    tenantId: meta.tenant_id,
    getRemainingTimeInMillis: () => deadlineMs - Date.now(),
  });
  try {
    const event = JSON.parse(body.length > 0 ? body.toString('utf8') : '{}');
    const result = handler(event, context, callback);
    if (isPromise(result)) {
      result.then(context.succeed, context.fail).catch(context.fail);
    }
  } catch (err) {
    callback(err);
  }
}

function nextInvocation(handler) {
  const frame = readFrame();
  if (frame === null) process.exit(0); // the host closed the channel: stop
  if (frame.type !== INVOKE) {
    process.stderr.write(`gust runtime: unexpected frame type ${frame.type}\n`);
    process.exit(2);
  }
  const meta = frame.meta.length > 0 ? JSON.parse(frame.meta.toString('utf8')) : {};
  handleInvoke(handler, frame.seq, meta, frame.body);
}

// Deferred init, before READY: what the function would otherwise pay for at its first ES module
// (the ES module loader, and libuv's thread pool that reads its files) and its first log line
// (process.stdout and process.stderr are created on first use: ~10 ms), so that a pre-started
// instance has only the function's own code left to load. Touches nothing of the function's and
// writes nothing.
async function warmUp() {
  try {
    void process.stdout;
    void process.stderr;
    util.format('%s %j', new Date().toISOString(), {});
    await import('data:text/javascript,export default 0');
    await fs.promises.readFile(__filename);
  } catch (_) {
    // only an optimisation
  }
}

// Deferred init: says READY, then waits for INIT, whose environment replaces ours (the
// sandbox's TMPDIR is kept unless INIT sets one), and enters the task root, where the host has
// mounted the code since we started. False if the host closed the channel first.
function awaitInit() {
  sendFrame(READY, 0);
  const frame = readFrame();
  if (frame === null) return false;
  if (frame.type !== INIT) {
    process.stderr.write(`gust runtime: expected INIT, got frame type ${frame.type}\n`);
    process.exit(2);
  }
  const meta = frame.meta.length > 0 ? JSON.parse(frame.meta.toString('utf8')) : {};
  const env = (meta && meta.env) || {};
  const tmpdir = process.env.TMPDIR;
  for (const key of Object.keys(process.env)) delete process.env[key];
  for (const [key, value] of Object.entries(env)) process.env[key] = String(value);
  if (tmpdir !== undefined && !Object.prototype.hasOwnProperty.call(env, 'TMPDIR')) {
    process.env.TMPDIR = tmpdir;
  }
  // As after a fresh start: the same argv, module paths from this environment (HOME,
  // NODE_PATH), and the task root as the working directory (ours is the empty mount point
  // beneath the code).
  process.argv.splice(process.argv.indexOf('--deferred-init'), 1);
  const Module = require('module');
  if (typeof Module._initPaths === 'function') Module._initPaths();
  process.chdir(process.env.LAMBDA_TASK_ROOT || '/var/task');
  return true;
}

async function main() {
  patchConsole();
  process.on('uncaughtException', (error) => {
    console.error('Uncaught Exception', toFormatted(error));
    if (errorCallback) errorCallback(error, 129);
  });
  process.on('unhandledRejection', (reason, promise) => {
    const error = new UnhandledPromiseRejection(reason && reason.toString(), promise);
    console.error('Unhandled Promise Rejection', toFormatted(error));
    if (errorCallback) errorCallback(error, 128);
  });

  // Everything above ran before the function was known; from here on it is the function's.
  if (process.argv.includes('--deferred-init')) {
    await warmUp();
    if (!awaitInit()) return;
  }

  const initError = (error, exitStatus) => {
    errorCallback = null;
    sendFrame(INIT_ERROR, 0, JSON.stringify(toRapidResponse(error)));
    process.exit(exitStatus);
  };
  errorCallback = initError;

  const appRoot = process.env.LAMBDA_TASK_ROOT || process.cwd();
  let handler;
  try {
    handler = await loadHandler(appRoot, process.env._HANDLER || '');
  } catch (error) {
    console.error('Init Error', toFormatted(error));
    initError(error, 129);
    return;
  }
  errorCallback = null;
  sendFrame(INIT_OK, 0);
  setImmediate(nextInvocation, handler);
}

main();
