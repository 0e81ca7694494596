// Callback-style handler: event.mode picks the behaviour under test.
// Names this instance (pids repeat: each instance has its own pid namespace).
const instance = require('crypto').randomUUID();
exports.handler = (event, context, callback) => {
  switch (event.mode) {
    case 'wait':
      // Default callbackWaitsForEmptyEventLoop: the response waits for this timer.
      setTimeout(() => console.log('timer fired'), 100);
      callback(null, { mode: 'wait' });
      return;
    case 'nowait':
      context.callbackWaitsForEmptyEventLoop = false;
      setTimeout(() => console.log('late timer fired'), 100);
      callback(null, { mode: 'nowait' });
      return;
    case 'error':
      callback(new RangeError('callback boom'));
      return;
    case 'string':
      callback('plain failure');
      return;
    case 'throw':
      throw new TypeError('thrown boom');
    case 'succeed':
      context.succeed({ mode: 'succeed' });
      return;
    case 'fail':
      context.fail(new Error('failed via context'));
      return;
    case 'twice':
      context.succeed({ first: true });
      context.succeed({ second: true });
      return;
    case 'reject':
      // Nobody handles this promise: Runtime.UnhandledPromiseRejection, and the runtime exits.
      Promise.reject(new Error('nobody caught me'));
      return;
    case 'uncaught':
      // Thrown outside the handler's call: the invocation fails, and the runtime exits.
      setTimeout(() => {
        throw new SyntaxError('uncaught boom');
      }, 1);
      return;
    case 'late':
      // Answered, then a rejection nobody handles: the runtime exits after the answer.
      context.callbackWaitsForEmptyEventLoop = false;
      callback(null, { mode: 'late' });
      Promise.reject(new Error('after the answer'));
      return;
    case 'oom': {
      // Memory outside V8's heap (Buffers) until the memory limit strikes.
      const keep = [];
      for (;;) keep.push(Buffer.alloc(16 << 20, 1));
    }
    case 'silent':
      // Never calls back: the result is null once the event loop is empty.
      setTimeout(() => {}, 10);
      return;
    default:
      callback(null, {
        mode: 'default',
        event,
        instance,
        // A pre-started instance was started with --deferred-init (not in process.argv).
        pooled: require('fs').readFileSync('/proc/self/cmdline', 'utf8').split('\0')
          .includes('--deferred-init'),
      });
  }
};
