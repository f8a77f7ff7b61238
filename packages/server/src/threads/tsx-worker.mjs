// piscina's worker entry when Watchkeeper runs from its TypeScript sources (the tests): registers
// tsx in the thread, then hands piscina the task handler of the .ts module named in workerData.
import { workerData } from 'piscina';
import { register } from 'tsx/esm/api';

register();
const handler = await import(workerData.module);
export default handler.default;
