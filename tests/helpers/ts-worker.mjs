// A worker_threads entry that runs a TypeScript worker (its file URL is the last argv entry) through tsx.
// Node 20 applies neither `--import tsx` in execArgv nor the parent's loader hooks to a worker's own entry
// file, so the hook is registered here, inside the worker, before the TypeScript is imported.
import { register } from 'tsx/esm/api';

register();
await import(process.argv.at(-1));
