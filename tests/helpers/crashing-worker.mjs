// A job worker that dies on its first message: the run service must turn that into a run 'error' event.
import { parentPort } from 'node:worker_threads';

parentPort.on('message', (message) => {
  if (message.type === 'start' && message.request.settings.seed === 13) process.exit(3);
  throw new Error('boom: this worker always fails');
});
