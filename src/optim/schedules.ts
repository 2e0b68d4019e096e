// src/optim/schedules.ts: learning-rate schedules as pure functions of the iteration, so a run
// resumed from a checkpoint gets exactly the rates of a run that never stopped. Each returns a
// factor that multiplies the base learning rate.
import { expectOneOf, expectNumber, expectOptions, ValueError } from '../tensor/index.js';

/** Classic per-epoch step decay: factor = lrDecay^epoch (epoch counted from 0). */
export function stepDecay(epoch: number, lrDecay: number): number {
  return lrDecay ** epoch;
}

/**
 * Cosine annealing (torch's CosineAnnealingLR, SGDR without restarts):
 * factor = minFactor + (1 − minFactor)·(1 + cos(π·t/T))/2 for t in [0, T]; minFactor after T.
 */
export function cosineAnnealing(t: number, T: number, minFactor = 0): number {
  if (T <= 0 || t >= T) return minFactor;
  return minFactor + ((1 - minFactor) * (1 + Math.cos((Math.PI * t) / T))) / 2;
}

/** Linear warm-up over `warmup` iterations: factor = (t + 1)/warmup for t < warmup, then 1. */
export function linearWarmup(t: number, warmup: number): number {
  return t < warmup ? (t + 1) / warmup : 1;
}

export interface ScheduleOptions {
  /** 'step' (lrDecay per epoch, the classic solver) or 'cosine' (annealed per iteration). */
  schedule?: 'step' | 'cosine';
  /** Per-epoch factor of the 'step' schedule (1 = constant). */
  lrDecay?: number;
  /** Linear warm-up length in iterations (0 = none); cosine anneals over the rest. */
  warmupIterations?: number;
  /** The floor of the cosine schedule as a fraction of the base rate (0). */
  minLrFactor?: number;
  iterationsPerEpoch: number;
  totalIterations: number;
}

const OPTIONS = [
  'schedule',
  'lrDecay',
  'warmupIterations',
  'minLrFactor',
  'iterationsPerEpoch',
  'totalIterations',
];

/** Checks a schedule's options (names the offending one) and fills in the defaults. */
export function checkSchedule(fn: string, s: ScheduleOptions): Required<ScheduleOptions> {
  expectOptions(fn, s, OPTIONS);
  const schedule = expectOneOf(fn, 'schedule', s.schedule ?? 'step', ['step', 'cosine'] as const);
  const lrDecay = s.lrDecay ?? 1;
  expectNumber(fn, 'lrDecay', lrDecay, { min: 0, minExclusive: true });
  if (schedule === 'cosine' && lrDecay !== 1) {
    throw new ValueError(
      `${fn}: lrDecay = ${lrDecay} applies to schedule 'step' only; with 'cosine' use minLrFactor`,
    );
  }
  const warmupIterations = s.warmupIterations ?? 0;
  expectNumber(fn, 'warmupIterations', warmupIterations, { min: 0, integer: true });
  const minLrFactor = s.minLrFactor ?? 0;
  expectNumber(fn, 'minLrFactor', minLrFactor, { min: 0, max: 1 });
  expectNumber(fn, 'iterationsPerEpoch', s.iterationsPerEpoch, { min: 1, integer: true });
  expectNumber(fn, 'totalIterations', s.totalIterations, { min: 0, integer: true });
  const { iterationsPerEpoch, totalIterations } = s;
  return { schedule, lrDecay, warmupIterations, minLrFactor, iterationsPerEpoch, totalIterations };
}

/**
 * The factor of the base learning rate at iteration t (0-based): linear warm-up for the first
 * warmupIterations, then 'step': lrDecay^epoch, or 'cosine': annealed from 1 to minLrFactor
 * over the remaining iterations.
 */
export function learningRateFactor(t: number, s: Required<ScheduleOptions>): number {
  const warm = linearWarmup(t, s.warmupIterations);
  if (t < s.warmupIterations) return warm;
  if (s.schedule === 'cosine') {
    return cosineAnnealing(
      t - s.warmupIterations,
      s.totalIterations - s.warmupIterations,
      s.minLrFactor,
    );
  }
  return stepDecay(Math.floor(t / s.iterationsPerEpoch), s.lrDecay);
}
