// An ES module by the nearest package.json "type": "module", in a subdirectory, with a
// top-level await and an import of a sibling .cjs file.
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
const require = createRequire(import.meta.url);
const helper = require('./helper.cjs');
const started = await Promise.resolve(Date.now());

export const handler = async (event) => ({
  moduleType: typeof module === 'undefined' ? 'esm' : 'commonjs',
  helper: helper.name,
  startedBeforeInvoke: started <= Date.now(),
  event,
  pooled: readFileSync('/proc/self/cmdline', 'utf8').split('\0').includes('--deferred-init'),
});
