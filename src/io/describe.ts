// src/io/describe.ts: what a model file says about its model besides the tensors, so that any
// reader can use it without our source: the input preprocessing, the class names, one sample's
// input shape and the library version that wrote it (docs/FORMATS.md documents every key).
// Stored as string metadata beside layerwise.config:
//   layerwise.library        '0.1.0'                      the writing layerwise's VERSION
//   layerwise.preprocessing  JSON of data.Preprocessing   e.g. {"kind":"mean-image",...}
//   layerwise.classNames     JSON array of strings        one per score column
//   layerwise.inputShape     JSON array of integers       one sample, e.g. [1, 28, 28]
// The same keys as the ONNX export's metadata_props.
import { parsePreprocessing, type Preprocessing } from '../data/internal.js';
import { fmt, Tensor, ValueError, type FloatTensor } from '../tensor/index.js';
import { SafetensorsError } from './safetensors.js';
import { VERSION } from './version.js';

/** What a model file records about its model's input and output (every field optional). */
export interface ModelDescription {
  /** How raw inputs become the model's X (fitted on the training set). */
  readonly preprocessing?: Preprocessing;
  /** One name per score column (numClasses of them). */
  readonly classNames?: readonly string[];
  /** One sample's shape, e.g. [1, 28, 28] for (N, 1, 28, 28) inputs. */
  readonly inputShape?: readonly number[];
}

export const DESCRIBE_KEY = {
  library: 'layerwise.library',
  preprocessing: 'layerwise.preprocessing',
  classNames: 'layerwise.classNames',
  inputShape: 'layerwise.inputShape',
} as const;

/** Caps that keep a damaged description from costing memory: a sample of at most 2^26 values. */
const MAX_CLASSES = 1_000_000;
const MAX_SAMPLE_SIZE = 2 ** 26;

/** The metadata entries of a description (and the library version, always). */
export function describeMetadata(fn: string, d: ModelDescription = {}): Record<string, string> {
  const meta: Record<string, string> = { [DESCRIBE_KEY.library]: VERSION };
  const checked = checkDescription(fn, 'options', d);
  if (checked.preprocessing !== undefined)
    meta[DESCRIBE_KEY.preprocessing] = JSON.stringify(checked.preprocessing);
  if (checked.classNames !== undefined)
    meta[DESCRIBE_KEY.classNames] = JSON.stringify(checked.classNames);
  if (checked.inputShape !== undefined)
    meta[DESCRIBE_KEY.inputShape] = JSON.stringify(checked.inputShape);
  return meta;
}

/** The description stored in a file's metadata, each key parsed and checked. */
export function storedDescription(
  fn: string,
  source: string,
  meta: Readonly<Record<string, string>>,
): ModelDescription & { readonly library?: string } {
  const own = (key: string) => (Object.hasOwn(meta, key) ? meta[key] : undefined);
  const json = (key: string): unknown => parseJson(fn, source, key, own(key));
  const library = own(DESCRIBE_KEY.library);
  if (
    library !== undefined &&
    !/^\d{1,4}\.\d{1,4}\.\d{1,4}([-+][0-9A-Za-z.-]{1,40})?$/.test(library)
  ) {
    throw new SafetensorsError(
      fn,
      source,
      `metadata '${DESCRIBE_KEY.library}' is ${JSON.stringify(library.slice(0, 40))}, not a version like '${VERSION}'`,
    );
  }
  const raw = {
    preprocessing: json(DESCRIBE_KEY.preprocessing),
    classNames: json(DESCRIBE_KEY.classNames),
    inputShape: json(DESCRIBE_KEY.inputShape),
  };
  try {
    const d = checkDescription(fn, 'metadata', raw as ModelDescription);
    return library === undefined ? d : { ...d, library };
  } catch (e) {
    throw new SafetensorsError(fn, source, (e as Error).message.replace(`${fn}: `, ''));
  }
}

/** "options 'classNames'" or "metadata 'layerwise.classNames'", for the messages. */
function field(where: string, name: string): string {
  return where === 'metadata' ? `metadata 'layerwise.${name}'` : `${where} '${name}'`;
}

/** A metadata value parsed as JSON (undefined when absent); bad JSON is a SafetensorsError. */
export function parseJson(
  fn: string,
  path: string,
  key: string,
  text: string | undefined,
): unknown {
  if (text === undefined) return undefined;
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(
      fn,
      path,
      `metadata '${key}' is not valid JSON (${(e as Error).message})`,
    );
  }
}

/** Checks each field's type and range; `where` is 'options' or 'metadata' for the messages. */
function checkDescription(fn: string, where: string, d: ModelDescription): ModelDescription {
  if (d === null || typeof d !== 'object')
    throw new TypeError(`${fn}: the model description must be an object`);
  const out: { -readonly [K in keyof ModelDescription]: ModelDescription[K] } = {};
  if (d.preprocessing !== undefined) {
    out.preprocessing = parsePreprocessing(
      d.preprocessing,
      `${fn}: ${field(where, 'preprocessing')}`,
    );
  }
  if (d.classNames !== undefined) out.classNames = checkClassNames(fn, where, d.classNames);
  if (d.inputShape !== undefined) out.inputShape = checkInputShape(fn, where, d.inputShape);
  return out;
}

function checkClassNames(fn: string, where: string, names: unknown): string[] {
  const ok =
    Array.isArray(names) &&
    names.length >= 1 &&
    names.length <= MAX_CLASSES &&
    names.every((c) => typeof c === 'string');
  if (!ok) {
    throw new ValueError(
      `${fn}: ${field(where, 'classNames')} must be an array of 1 to ${MAX_CLASSES} strings`,
    );
  }
  const list = names as string[];
  const seen = new Set<string>();
  for (const c of list) {
    if (seen.has(c)) throw new ValueError(`${fn}: ${field(where, 'classNames')} has '${c}' twice`);
    seen.add(c);
  }
  return [...list];
}

function checkInputShape(fn: string, where: string, shape: unknown): number[] {
  const ok =
    Array.isArray(shape) &&
    shape.length >= 1 &&
    shape.length <= 8 &&
    shape.every((v) => Number.isInteger(v) && (v as number) >= 1);
  if (!ok) {
    throw new ValueError(
      `${fn}: ${field(where, 'inputShape')} must be one sample's shape: 1 to 8 positive integers, e.g. [1, 28, 28]`,
    );
  }
  const dims = shape as number[];
  const size = dims.reduce((a, b) => a * b, 1);
  if (size > MAX_SAMPLE_SIZE) {
    throw new ValueError(
      `${fn}: ${field(where, 'inputShape')} ${fmt(dims)} has ${size} values a sample, more than ${MAX_SAMPLE_SIZE}`,
    );
  }
  return [...dims];
}

/** What fitsDescription needs of a model: test-mode scores of a batch. */
interface Scoring {
  loss(X: Tensor): FloatTensor;
}

/**
 * Checks a built model against its description by scoring one zero sample of the stored input
 * shape: the shape must fit the weights, and the scores must have one column per class name.
 * Throws a ValueError naming the source; a description without an input shape checks nothing.
 */
export function fitsDescription(
  fn: string,
  source: string,
  model: Scoring,
  d: ModelDescription,
  dtype: 'float32' | 'float64' = 'float32',
): void {
  if (d.inputShape === undefined || typeof model.loss !== 'function') return;
  let scores: FloatTensor;
  try {
    scores = model.loss(Tensor.zeros([1, ...d.inputShape], dtype));
  } catch (e) {
    const why = (e as Error).message.split('\n')[0];
    throw new ValueError(
      `${fn}: ${source}: the stored input shape ${fmt(d.inputShape)} does not fit the model (${why})`,
    );
  }
  const C = scores.shape.length === 2 ? scores.shape[1] : -1;
  if (d.classNames !== undefined && C !== d.classNames.length) {
    throw new ValueError(
      `${fn}: ${source}: has ${d.classNames.length} class names but the model gives ${C} scores a sample (scores ${fmt(scores.shape)})`,
    );
  }
}
