// Every workflow the worker registers.
export { dispatchCycle } from './dispatch-cycle.js';
export { dispatchPlan } from './dispatch-plan.js';
export { dispatchCoordinator } from './dispatch-coordinator.js';
export { floodSeason } from './flood-season.js';
export { baselineRun } from './baseline.js';
