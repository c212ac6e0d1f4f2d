// Every workflow the worker registers.
export { dispatchCycle } from './dispatch-cycle.js';
