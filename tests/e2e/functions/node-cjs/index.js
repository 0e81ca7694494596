// CommonJS (no package.json "type"): reports the context object and the environment.
let calls = 0;
exports.handler = async (event, context) => {
  calls += 1;
  console.log('probe called', { calls });
  console.warn('line one\nline two');
  return {
    event,
    calls,
    pid: process.pid,
    moduleType: typeof require === 'function' ? 'commonjs' : 'esm',
    awsRequestId: context.awsRequestId,
    invokedFunctionArn: context.invokedFunctionArn,
    functionName: context.functionName,
    functionVersion: context.functionVersion,
    memoryLimitInMB: context.memoryLimitInMB,
    logGroupName: context.logGroupName,
    logStreamName: context.logStreamName,
    identity: context.identity === undefined ? 'undefined' : context.identity,
    clientContext: context.clientContext === undefined ? 'undefined' : context.clientContext,
    remaining: context.getRemainingTimeInMillis(),
    waits: context.callbackWaitsForEmptyEventLoop,
    methods: ['done', 'succeed', 'fail'].map((m) => typeof context[m]),
    env: {
      color: process.env.COLOR,
      handler: process.env._HANDLER,
      taskRoot: process.env.LAMBDA_TASK_ROOT,
      executionEnv: process.env.AWS_EXECUTION_ENV,
      nodePath: process.env.NODE_PATH,
      nodeOptions: process.env.NODE_OPTIONS === undefined ? 'unset' : process.env.NODE_OPTIONS,
      tz: process.env.TZ,
      region: process.env.AWS_REGION,
    },
    serverEnvLeaked: process.env.GUST_E2E_SECRET !== undefined,
    envKeys: Object.keys(process.env).sort(),
    argv: process.argv,
    execArgv: process.execArgv,
    cwd: process.cwd(),
    // A pre-started instance was started with --deferred-init (not in process.argv).
    pooled: require('fs').readFileSync('/proc/self/cmdline', 'utf8').split('\0')
      .includes('--deferred-init'),
    fd3Inherited: (() => {
      try {
        return require('child_process').execFileSync('/bin/sh', ['-c', 'test -e /proc/self/fd/3 && echo yes || echo no']).toString().trim();
      } catch (e) {
        return String(e);
      }
    })(),
  };
};
