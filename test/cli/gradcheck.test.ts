// `layerwise gradcheck --only attention`: the issue-13 layers, spawned from dist/ (pretest builds it).
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { describe, expect, it } from 'vitest';
import { CHECKS } from '../../src/cli/gradcheckCases.js';

const MAIN = resolve('dist/src/cli/main.js');
const ATTENTION_LAYERS = [
  'softmax (attention)',
  'gelu erf (attention)',
  'gelu tanh (attention)',
  'positional encoding (attention)',
  'layernorm (N, S, E) (attention)',
  'multi-head attention (mask)',
  'multi-head attention (mask, dropout seed 7)',
];

describe('layerwise gradcheck --only attention', () => {
  it('the case table holds the issue-13 layers, the only ones that name attention', () => {
    const names = CHECKS.map((c) => c.layer);
    for (const layer of ATTENTION_LAYERS) expect(names).toContain(layer);
    expect(names.filter((n) => n.toLowerCase().includes('attention'))).toEqual(ATTENTION_LAYERS);
  });

  it('checks exactly the attention layers, every gradient, and passes', () => {
    const r = spawnSync(process.execPath, [MAIN, 'gradcheck', '--only', 'attention'], {
      encoding: 'utf8',
      env: { ...process.env, LAYERWISE_BACKEND: '' },
    });
    expect(r.stderr).toBe('');
    expect(r.status).toBe(0);
    const rows = r.stdout.trim().split('\n').slice(1, -1);
    // a row: layer (single spaces inside), gradient, rel. error, threshold, result
    const parsed = rows.map((row) => /^(.*?) {2,}(\S+) +(\S+) +(\S+) +(pass|FAIL)$/.exec(row));
    for (const [i, m] of parsed.entries()) expect(m, rows[i]).not.toBeNull();
    const cells = parsed.map((m) => m?.slice(1) ?? []);
    expect([...new Set(cells.map((c) => c[0]))]).toEqual(ATTENTION_LAYERS);
    for (const c of cells) expect(c[4]).toBe('pass');
    const mha = cells.filter((c) => c[0] === 'multi-head attention (mask)').map((c) => c[1]);
    expect(mha).toEqual([
      'dquery',
      'dkey',
      'dvalue',
      'dWq',
      'dbq',
      'dWk',
      'dWv',
      'dbv',
      'dWo',
      'dbo',
      'dbk=0',
    ]);
    expect(r.stdout).toContain(`all ${ATTENTION_LAYERS.length} layers pass`);
  });
});
