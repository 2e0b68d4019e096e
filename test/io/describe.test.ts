// test/io/describe.test.ts: the self-describing model file (docs/FORMATS.md). saveModel and
// encodeModel store the preprocessing, class names, input shape and library version beside the
// architecture; readModelInfo / decodeModelInfo read them back checked; loading refuses a file
// whose schema was damaged (versions, shapes, names) with an error naming the file and the key.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import {
  decodeModel,
  decodeModelInfo,
  decodeSafetensors,
  encodeModel,
  encodeSafetensors,
  loadModel,
  readModelInfo,
  saveModel,
  SafetensorsError,
  VERSION,
} from '../../src/io/index.js';
import { ThreeLayerConvNet, TwoLayerNet } from '../../src/models/index.js';
import { Tensor, ValueError } from '../../src/tensor/index.js';

const dir = mkdtempSync(join(tmpdir(), 'layerwise-describe-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const CONV = {
  inputDim: [1, 8, 8] as [number, number, number],
  numFilters: 3,
  filterSize: 3,
  hiddenDim: 6,
  numClasses: 4,
  seed: 2,
};
const DESCRIPTION = {
  preprocessing: { kind: 'per-channel' as const, mean: [0.25], std: [0.5] },
  classNames: ['zero', 'one', 'two', 'three'],
  inputShape: [1, 8, 8],
};

/** The bytes of `model` with one metadata key replaced (or removed with null). */
function withMeta(bytes: Uint8Array, key: string, value: string | null): Uint8Array {
  const { tensors, metadata } = decodeSafetensors(bytes);
  const meta = { ...metadata };
  if (value === null) delete meta[key];
  else meta[key] = value;
  return encodeSafetensors(tensors, meta);
}

describe('self-describing model files', () => {
  it('stores the description and the library version; readModelInfo gives them back', () => {
    const net = new ThreeLayerConvNet(CONV);
    const path = join(dir, 'conv.safetensors');
    saveModel(path, net, DESCRIPTION);
    const info = readModelInfo(path);
    expect(info.kind).toBe('model');
    expect(info.formatVersion).toBe(2);
    expect(info.library).toBe(VERSION);
    expect(info.config).toEqual(net.config);
    expect(info.preprocessing).toEqual(DESCRIPTION.preprocessing);
    expect(info.classNames).toEqual(DESCRIPTION.classNames);
    expect(info.inputShape).toEqual([1, 8, 8]);
    expect(info.params).toEqual(Object.keys(net.params));
    expect(info.tensors.W1).toEqual({ dtype: 'float32', shape: [3, 1, 3, 3] });
    // the raw metadata is plain JSON that any safetensors reader sees
    const meta = decodeSafetensors(readFileSync(path)).metadata;
    expect(JSON.parse(meta['layerwise.classNames'])).toEqual(DESCRIPTION.classNames);
    expect(meta['layerwise.library']).toBe(VERSION);
    const back = loadModel<ThreeLayerConvNet>(path);
    const X = Tensor.randn([2, 1, 8, 8], { seed: 4 });
    expect([...back.loss(X).data]).toEqual([...net.loss(X).data]);
  });

  it('works on bytes (encodeModel / decodeModelInfo), and a file without a description loads', () => {
    const net = new TwoLayerNet({ inputDim: 5, hiddenDim: 4, numClasses: 3, seed: 1 });
    const bytes = encodeModel(net, { classNames: ['a', 'b', 'c'], inputShape: [5] });
    const info = decodeModelInfo(bytes, 'net.bin');
    expect(info.classNames).toEqual(['a', 'b', 'c']);
    expect(info.preprocessing).toBeUndefined();
    const bare = decodeModelInfo(encodeModel(net));
    expect(bare.classNames).toBeUndefined();
    expect(bare.inputShape).toBeUndefined();
    expect(decodeModel(encodeModel(net))).toBeInstanceOf(TwoLayerNet);
  });

  it('refuses a description that does not fit the model when saving', () => {
    const net = new TwoLayerNet({ inputDim: 5, hiddenDim: 4, numClasses: 3, seed: 1 });
    expect(() => encodeModel(net, { classNames: ['a', 'a', 'b'] })).toThrow(
      "encodeModel: options 'classNames' has 'a' twice",
    );
    expect(() => encodeModel(net, { inputShape: [0, 5] })).toThrow(
      "encodeModel: options 'inputShape' must be one sample's shape",
    );
    expect(() => encodeModel(net, { classNames: 'abc' } as never)).toThrow(
      "encodeModel: options 'classNames' must be an array of 1 to 1000000 strings",
    );
    expect(() => encodeModel(net, { labels: [] } as never)).toThrow(
      /encodeModel: unknown option 'labels'/,
    );
  });

  describe('refuses damaged schemas with the file and the key', () => {
    const net = new ThreeLayerConvNet(CONV);
    const good = encodeModel(net, DESCRIPTION);
    const cases: Array<[string, string, string | null, RegExp]> = [
      [
        'a future format version',
        'layerwise.version',
        '3',
        /has format version 3, newer than this layerwise reads \(1 to 2\); upgrade layerwise/,
      ],
      [
        'a format version that is not one',
        'layerwise.version',
        '2.0',
        /metadata 'layerwise.version' is "2.0", not a format version/,
      ],
      [
        'an unknown kind',
        'layerwise.kind',
        'weights',
        /metadata 'layerwise.kind' is "weights", not 'model' or 'training'/,
      ],
      [
        'a library version that is not one',
        'layerwise.library',
        'latest',
        /metadata 'layerwise.library' is "latest", not a version like/,
      ],
      [
        'class names that are not JSON',
        'layerwise.classNames',
        '[zero',
        /metadata 'layerwise.classNames' is not valid JSON/,
      ],
      [
        'class names of the wrong count',
        'layerwise.classNames',
        '["a","b","c"]',
        /has 3 class names but the model gives 4 scores a sample/,
      ],
      [
        'an input shape that contradicts the weights',
        'layerwise.inputShape',
        '[3, 8, 8]',
        /the stored input shape \[3,8,8\] does not fit the model \(ThreeLayerConvNet.loss: X has shape \[1,3,8,8\] but the model was built for inputDim \[1,8,8\]\)/,
      ],
      [
        'a giant input shape',
        'layerwise.inputShape',
        '[100000, 100000, 100000]',
        /metadata 'layerwise.inputShape' \[100000,100000,100000\] has 1000000000000000 values a sample, more than 67108864/,
      ],
      [
        'a malformed preprocessing',
        'layerwise.preprocessing',
        '{"kind":"per-channel","mean":[0],"std":[-1]}',
        /invalid preprocessing: 'std' must be an array of positive finite numbers/,
      ],
      [
        'a prototype name as preprocessing kind',
        'layerwise.preprocessing',
        '{"kind":"constructor"}',
        /invalid preprocessing/,
      ],
      [
        'a config of the wrong shape',
        'layerwise.config',
        '{"type":"ThreeLayerConvNet"}',
        /metadata 'layerwise.config' must be \{ type, options \}/,
      ],
    ];
    cases.push([
      'an architecture too big to build',
      'layerwise.config',
      JSON.stringify({ ...net.config, options: { ...net.config.options, hiddenDim: 2e9 } }),
      /cannot build its ThreeLayerConvNet \(model weights: a float32 weight of shape \[48,2000000000\] would need/,
    ]);
    for (const [what, key, value, message] of cases) {
      it(what, () => {
        const bytes = withMeta(good, key, value);
        const load = () => decodeModel(bytes, 'model.safetensors');
        expect(load).toThrow(message);
        expect(load).toThrow(/^decodeModel: model\.safetensors: /);
        let error: unknown;
        try {
          load();
        } catch (e) {
          error = e;
        }
        expect(error instanceof SafetensorsError || error instanceof ValueError).toBe(true);
      });
    }
    it('and readModelInfo refuses the same schema damage without building the model', () => {
      expect(() => decodeModelInfo(withMeta(good, 'layerwise.version', '9'), 'm')).toThrow(
        'decodeModelInfo: m: has format version 9, newer than this layerwise reads (1 to 2); upgrade layerwise',
      );
      expect(() => decodeModelInfo(withMeta(good, 'layerwise.classNames', '[1,2]'), 'm')).toThrow(
        "decodeModelInfo: m: metadata 'layerwise.classNames' must be an array of 1 to 1000000 strings",
      );
    });
  });
});
