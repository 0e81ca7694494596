// Callback-style handler: event.mode picks the behaviour under test.
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
      // Nobody handles this promise: Runtime.UnhandledPromiseRejection.
      Promise.reject(new Error('nobody caught me'));
      return;
    case 'silent':
      // Never calls back: the result is null once the event loop is empty.
      setTimeout(() => {}, 10);
      return;
    default:
      callback(null, { mode: 'default', event });
  }
};
