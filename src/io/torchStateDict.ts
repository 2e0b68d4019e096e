// src/io/torchStateDict.ts: the PyTorch bridge's state dicts, both ways (toTorchStateDict,
// fromTorchStateDict), following the plan of src/io/torch.ts: each mapping's layout change
// (transposes, reordered gate blocks, torch's second recurrent bias, the batch-norm counter).
import { kernelsFor } from '../kernels/index.js';
import { Tensor, ValueError, fmt, type FloatTensor } from '../tensor/index.js';
import { torchPlan, type AnyModel, type Gated, type Mapping } from './torch.js';

/** Our tensor for a mapping, looked up among the model's params and buffers. */
function oursOf(fn: string, model: AnyModel, key: string): FloatTensor {
  const buffers = (model as { buffers?: Record<string, FloatTensor> }).buffers ?? {};
  const t = Object.hasOwn(model.params, key)
    ? model.params[key]
    : Object.hasOwn(buffers, key)
      ? buffers[key]
      : undefined;
  if (t === undefined) throw new ValueError(`${fn}: the model has no tensor '${key}'`);
  return t;
}

/** torch (G·H, In) from ours (In, G·H), gate blocks reordered. */
export function gateWeightToTorch(w: FloatTensor, gates: readonly number[]): FloatTensor {
  const [In, GH] = w.shape,
    H = GH / gates.length;
  const out = Tensor.zeros([GH, In], w.dtype);
  gates.forEach((src, k) => {
    for (let h = 0; h < H; h++) {
      const row = (k * H + h) * In,
        col = src * H + h;
      for (let i = 0; i < In; i++) out.data[row + i] = w.data[i * GH + col];
    }
  });
  return out;
}

/** Ours (In, G·H) from torch (G·H, In): the inverse of gateWeightToTorch. */
function gateWeightFromTorch(t: Tensor, into: FloatTensor, gates: readonly number[]): void {
  const [In, GH] = into.shape,
    H = GH / gates.length;
  gates.forEach((src, k) => {
    for (let h = 0; h < H; h++) {
      const row = (k * H + h) * In,
        col = src * H + h;
      for (let i = 0; i < In; i++) into.data[i * GH + col] = t.data[row + i];
    }
  });
}

export function reorderBias(b: FloatTensor, gates: readonly number[]): FloatTensor {
  const H = b.size / gates.length,
    out = Tensor.zeros([b.size], b.dtype);
  gates.forEach((src, k) => out.data.set(b.data.subarray(src * H, src * H + H), k * H));
  return out;
}

/** (C, R) from (R, C), in `dtype` (a float64 torch tensor may go into a float32 model). */
function transpose2d(t: Tensor, dtype: FloatTensor['dtype']): FloatTensor {
  const src = t.dtype === dtype ? t : Tensor.from(t.data, t.shape, dtype);
  const [R, C] = src.shape,
    out = Tensor.zeros([C, R], dtype);
  kernelsFor(dtype).swapOuterAxes(out.data, src.data as FloatTensor['data'], R, C, 1); // (R, C, 1) -> (C, R, 1)
  return out;
}

/** The torch shape a mapping's tensor has, given ours. */
function torchShape(m: Mapping, ours: FloatTensor | null): readonly number[] {
  if (m.kind === 'counter') return [];
  const s = (ours as FloatTensor).shape;
  return m.kind === 'transpose' || m.kind === 'gateWeight' ? [s[1], s[0]] : s;
}

/**
 * The model's params and buffers as the state dict of the equivalent torch network: torch's key
 * names (fc1.weight, bn1.running_var, 0.weight_ih_l0, ...) and layouts, in torch's order. The
 * tensors are fresh copies; num_batches_tracked is an int32 0-d tensor (write it as I64, as
 * `torchStateDictBytes` does). Throws for a model or module without a torch equivalent.
 */
export function toTorchStateDict(model: unknown): Record<string, Tensor> {
  const fn = 'toTorchStateDict';
  const plan = torchPlan(fn, model);
  const m = model as AnyModel;
  const out: Record<string, Tensor> = {};
  for (const map of plan.mappings) {
    if (map.kind === 'counter') {
      out[map.torch] = Tensor.zeros([], 'int32');
      continue;
    }
    const ours = oursOf(fn, m, map.ours);
    if (map.kind === 'copy') out[map.torch] = ours.clone();
    else if (map.kind === 'transpose') out[map.torch] = transpose2d(ours, ours.dtype);
    else if (map.kind === 'gateWeight') out[map.torch] = gateWeightToTorch(ours, map.gates);
    else if (map.kind === 'gateBias') out[map.torch] = reorderBias(ours, map.gates);
    else out[map.torch] = Tensor.zeros([ours.size], ours.dtype);
  }
  return out;
}

/** The names of a torch state dict's counters (int64 in torch), for encodeSafetensors' int64. */
export function torchInt64Keys(sd: Record<string, Tensor>): string[] {
  return Object.keys(sd).filter((k) => k.endsWith('num_batches_tracked'));
}

export interface FromTorchOptions {
  /** Refuse a state dict with missing or unexpected keys (default true), as torch's strict. */
  readonly strict?: boolean;
}

export interface FromTorchResult {
  readonly missingKeys: string[];
  readonly unexpectedKeys: string[];
}

/**
 * Copies a torch state dict (e.g. decodeSafetensors of a file torch wrote) into `model` in place,
 * undoing the layout changes of toTorchStateDict. Everything is checked before anything is
 * written: keys (strict: missing and unexpected ones are listed by name), shapes, dtypes (float
 * tensors convert to the model's float dtype), and that a GRU's bias_hh has no n-gate part,
 * which layerwise's GRU cannot hold. Returns the keys torch's load_state_dict would report.
 */
export function fromTorchStateDict(
  model: unknown,
  sd: Record<string, Tensor>,
  options: FromTorchOptions = {},
): FromTorchResult {
  const fn = 'fromTorchStateDict';
  const plan = torchPlan(fn, model);
  if (sd === null || typeof sd !== 'object')
    throw new TypeError(`${fn}: sd must be a record of Tensors`);
  const strict = options.strict ?? true;
  const expected = new Set(plan.mappings.map((m) => m.torch));
  const unexpectedKeys = Object.keys(sd).filter((k) => !expected.has(k));
  const missingKeys = [...expected].filter((k) => !Object.hasOwn(sd, k));
  if (strict && (unexpectedKeys.length > 0 || missingKeys.length > 0)) {
    const parts: string[] = [];
    if (missingKeys.length > 0) parts.push(`missing keys ${names(missingKeys)}`);
    if (unexpectedKeys.length > 0) parts.push(`unexpected keys ${names(unexpectedKeys)}`);
    throw new ValueError(
      `${fn}: the state dict does not fit the model (strict): ${parts.join('; ')}`,
    );
  }
  const m = model as AnyModel;
  const staged = new Map<string, FloatTensor>(); // our key -> the new values, written at the end
  const stage = (key: string): FloatTensor => {
    let t = staged.get(key);
    if (t === undefined) staged.set(key, (t = oursOf(fn, m, key).clone()));
    return t;
  };
  for (const map of plan.mappings) {
    if (!Object.hasOwn(sd, map.torch)) continue;
    const t = sd[map.torch];
    if (!(t instanceof Tensor)) throw new TypeError(`${fn}: '${map.torch}' is not a Tensor`);
    const ours = map.kind === 'counter' ? null : oursOf(fn, m, map.ours);
    const want = torchShape(map, ours);
    const shapeOk = t.shape.length === want.length && t.shape.every((d, i) => d === want[i]);
    if (!shapeOk && !(map.kind === 'counter' && t.size === 1)) {
      throw new ValueError(
        `${fn}: '${map.torch}' has shape ${fmt(t.shape)} but the model needs ${fmt(want)}`,
      );
    }
    if (map.kind === 'counter') {
      if (t.dtype !== 'int32')
        throw new ValueError(`${fn}: '${map.torch}' must hold an integer, got ${t.dtype}`);
      continue;
    }
    if (t.dtype === 'int32') {
      throw new ValueError(
        `${fn}: '${map.torch}' has dtype int32 but '${map.ours}' is ${(ours as FloatTensor).dtype}`,
      );
    }
    const into = stage(map.ours);
    if (map.kind === 'copy') into.data.set(t.data);
    else if (map.kind === 'transpose') into.data.set(transpose2d(t, into.dtype).data);
    else if (map.kind === 'gateWeight') gateWeightFromTorch(t, into, map.gates);
    else if (map.kind === 'gateBias') {
      const H = into.size / map.gates.length;
      map.gates.forEach((src, k) => into.data.set(t.data.subarray(k * H, k * H + H), src * H));
    } else foldHiddenBias(fn, map, t, into);
  }
  for (const [key, t] of staged) oursOf(fn, m, key).data.set(t.data);
  return { missingKeys, unexpectedKeys };
}

/** Adds torch's bias_hh into our single bias, gate by gate; a non-foldable gate must be zero. */
function foldHiddenBias(
  fn: string,
  map: Gated<'hiddenBias'> & { readonly foldable: readonly boolean[] },
  t: Tensor,
  into: FloatTensor,
): void {
  const H = into.size / map.gates.length;
  map.gates.forEach((src, k) => {
    for (let h = 0; h < H; h++) {
      const v = t.data[k * H + h];
      if (v === 0) continue; // adding zero would turn a stored -0 into +0
      if (!map.foldable[k]) {
        throw new ValueError(
          `${fn}: '${map.torch}'[${k * H + h}] = ${v}, but layerwise's GRU has no hidden-side bias of the n gate (b_hn must be 0)`,
        );
      }
      into.data[src * H + h] += v;
    }
  });
}

function names(keys: string[]): string {
  const shown = keys
    .slice(0, 8)
    .map((k) => `'${k}'`)
    .join(', ');
  return keys.length > 8 ? `${shown} and ${keys.length - 8} more` : shown;
}
