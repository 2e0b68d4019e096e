// src/cli/gradcheck.ts: `layerwise gradcheck`: every layer's backward against centred
// differences of its forward, in float64, printed as a table of relative errors with pass/fail
// against DESIGN.md's thresholds (1e-7 for smooth layers, 1e-5 where kinks make it looser).
import { Rng } from '../tensor/index.js';
import { CliError, formatHelp, parseFlags, type FlagSpecs } from './args.js';
import { CHECKS } from './gradcheckCases.js';
import { KINK, SMOOTH, useStencilFor } from './gradcheckHelpers.js';

const CMD = 'layerwise gradcheck';

export const GRADCHECK_FLAGS: FlagSpecs = {
  seed: {
    type: 'int',
    default: 0,
    help: 'seed of the random inputs (with other inputs, about one seed in 80, an element whose gradient is near zero can exceed the threshold by round-off)',
  },
  only: { type: 'string', metavar: 'TEXT', help: 'check only the layers whose name contains TEXT' },
};

const DESCRIPTION = `Checks the backward pass of every layer against numerical gradients in float64 (the
five-point centred stencil at h = 2e-3 for smooth layers, centred differences at h = 1e-5 where
kinks are) and prints the largest relative error of each gradient,
max |a - n| / max(1e-8, |a| + |n|), with pass/fail against the thresholds of DESIGN.md:
${SMOOTH} for smooth layers, ${KINK} where kinks (relu, max, hinge) make numerical gradients
less exact. Exits with 1 if any check fails.`;

export function runGradcheck(argv: readonly string[]): number {
  const { flags, positionals } = parseFlags(CMD, argv, GRADCHECK_FLAGS);
  if (flags.help) {
    process.stdout.write(formatHelp('layerwise gradcheck [options]', DESCRIPTION, GRADCHECK_FLAGS));
    return 0;
  }
  if (positionals.length > 0)
    throw new CliError(`${CMD}: unexpected argument '${positionals[0]}' (see '${CMD} --help')`);
  const only = typeof flags.only === 'string' ? flags.only.toLowerCase() : null;
  const checks = CHECKS.filter((c) => only === null || c.layer.toLowerCase().includes(only));
  if (checks.length === 0)
    throw new CliError(`${CMD}: no layer matches --only '${String(flags.only)}'`);
  const width = Math.max(...checks.map((c) => c.layer.length)) + 2;
  process.stdout.write(
    `${'layer'.padEnd(width)}${'gradient'.padEnd(10)}${'rel. error'.padStart(11)}  ${'threshold'.padStart(9)}  result\n`,
  );
  let failed = 0;
  checks.forEach((c, i) => {
    let errors: Record<string, number>;
    try {
      useStencilFor(c.threshold);
      errors = c.run(new Rng((flags.seed as number) * 1000 + i));
    } catch (e) {
      failed++;
      process.stdout.write(
        `${c.layer.padEnd(width)}FAIL: ${(e as Error).message.split('\n')[0]}\n`,
      );
      return;
    }
    for (const [grad, err] of Object.entries(errors)) {
      const ok = err < c.threshold;
      if (!ok) failed++;
      process.stdout.write(
        `${c.layer.padEnd(width)}${grad.padEnd(10)}${err.toExponential(2).padStart(11)}  ${c.threshold.toExponential(0).padStart(9)}  ${ok ? 'pass' : 'FAIL'}\n`,
      );
    }
  });
  process.stdout.write(
    failed === 0 ? `all ${checks.length} layers pass\n` : `${failed} check(s) FAILED\n`,
  );
  return failed === 0 ? 0 : 1;
}
