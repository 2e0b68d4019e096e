import { describe, expect, it } from 'vitest';
import {
  checkSchedule,
  cosineAnnealing,
  learningRateFactor,
  linearWarmup,
  stepDecay,
} from '../../src/optim/index.js';

describe('learning-rate schedules', () => {
  it('step decay multiplies by lrDecay once per epoch', () => {
    const s = checkSchedule('test', { lrDecay: 0.5, iterationsPerEpoch: 3, totalIterations: 9 });
    expect([0, 2, 3, 5, 6, 8].map((t) => learningRateFactor(t, s))).toEqual([
      1, 1, 0.5, 0.5, 0.25, 0.25,
    ]);
    expect(stepDecay(3, 0.9)).toBeCloseTo(0.729, 15);
  });
  it('cosine annealing goes from 1 to minFactor like torch CosineAnnealingLR', () => {
    expect(cosineAnnealing(0, 10)).toBe(1);
    expect(cosineAnnealing(5, 10)).toBeCloseTo(0.5, 15);
    expect(cosineAnnealing(10, 10, 0.1)).toBe(0.1);
    // torch: eta_min + (eta_max - eta_min) * (1 + cos(pi * 2 / 8)) / 2 with eta_max 1, eta_min 0.2
    expect(cosineAnnealing(2, 8, 0.2)).toBeCloseTo(0.2 + (0.8 * (1 + Math.SQRT1_2)) / 2, 15);
  });
  it('warm-up rises linearly then hands over to cosine', () => {
    expect([0, 1, 3, 4].map((t) => linearWarmup(t, 4))).toEqual([0.25, 0.5, 1, 1]);
    const s = checkSchedule('test', {
      schedule: 'cosine',
      warmupIterations: 2,
      iterationsPerEpoch: 5,
      totalIterations: 10,
    });
    expect([0, 1, 2, 6].map((t) => learningRateFactor(t, s))).toEqual([
      0.5,
      1,
      1,
      cosineAnnealing(4, 8),
    ]);
  });
  it('rejects bad options with the name of the option', () => {
    expect(() =>
      checkSchedule('Solver', {
        schedule: 'linear' as 'step',
        iterationsPerEpoch: 1,
        totalIterations: 1,
      }),
    ).toThrow("Solver: schedule must be 'step' or 'cosine', got 'linear'");
    expect(() =>
      checkSchedule('Solver', {
        schedule: 'cosine',
        lrDecay: 0.9,
        iterationsPerEpoch: 1,
        totalIterations: 1,
      }),
    ).toThrow(
      "Solver: lrDecay = 0.9 applies to schedule 'step' only; with 'cosine' use minLrFactor",
    );
    expect(() =>
      checkSchedule('Solver', { lrDecay: -1, iterationsPerEpoch: 1, totalIterations: 1 }),
    ).toThrow('Solver: lrDecay must be > 0, got -1');
  });
});
