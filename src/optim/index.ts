// src/optim/index.ts: update rules (torch.optim arithmetic), gradient clipping and schedules.
export {
  sgd,
  sgdMomentum,
  nesterov,
  rmsprop,
  adagrad,
  adam,
  adamw,
  updateRules,
  getUpdateRule,
  RULE_DEFAULTS,
} from './rules.js';
export type { OptimConfig, UpdateRule, RuleName } from './rules.js';
export { clipGradNorm } from './clip.js';
export {
  stepDecay,
  cosineAnnealing,
  linearWarmup,
  learningRateFactor,
  checkSchedule,
} from './schedules.js';
export type { ScheduleOptions } from './schedules.js';
