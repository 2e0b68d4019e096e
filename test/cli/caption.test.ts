import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { parseFlags } from '../../src/cli/args.js';
import { CAPTION_FLAGS, captionTask, runCaption } from '../../src/cli/caption.js';
import { loadModel } from '../../src/io/index.js';
import { CaptioningRNN } from '../../src/models/index.js';

describe('layerwise caption', () => {
  afterEach(() => vi.restoreAllMocks());

  it('prints its help with the flags', async () => {
    let text = '';
    vi.spyOn(process.stdout, 'write').mockImplementation(
      (s: string | Uint8Array) => ((text += String(s)), true),
    );
    expect(await runCaption(['--help'])).toBe(0);
    expect(text).toContain('Usage: layerwise caption [options]');
    for (const flag of ['--epochs', '--seed', '--out', '--beam', '--features', '--cell'])
      expect(text).toContain(flag);
  });

  it('rejects an unknown flag, suggesting the right one', async () => {
    await expect(runCaption(['--epoch', '2'])).rejects.toThrow(
      "layerwise caption: unknown option '--epoch' (did you mean '--epochs'?)",
    );
    await expect(runCaption(['--cell', 'gru'])).rejects.toThrow(
      "layerwise caption: --cell must be 'lstm' or 'rnn', got 'gru'",
    );
  });

  it('trains a small run end to end, reports held-out accuracies and saves a loadable model', () => {
    const out = mkdtempSync(join(tmpdir(), 'layerwise-caption-'));
    try {
      const { flags } = parseFlags(
        'layerwise caption',
        [
          '--features',
          'random',
          '--train-images',
          '300',
          '--val-images',
          '40',
          '--test-images',
          '40',
          '--epochs',
          '1',
          '--hidden',
          '8',
          '--wordvec',
          '4',
          '--samples',
          '1',
          '--beam',
          '2',
          '--out',
          out,
        ],
        CAPTION_FLAGS,
      );
      const lines: string[] = [];
      const r = captionTask(flags, (l) => lines.push(l));
      const text = lines.join('\n');
      expect(text).toMatch(
        /held-out \(40 images of TEST digits\), greedy: exact captions [\d.]+%, per-word [\d.]+%/,
      );
      expect(text).toMatch(/beam search \(beam 2\)/);
      expect(text).toMatch(/generated: .* {3}true: [a-z ]+ {3}(ok|WRONG)/);
      expect(r.perWord).toBeGreaterThanOrEqual(0);
      const model = loadModel<CaptioningRNN>(join(out, 'captioner.safetensors'));
      expect(model).toBeInstanceOf(CaptioningRNN);
      expect(model.params.Wx.shape).toEqual([4, 32]);
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  });
});
