// src/layers/gelu.ts: the Gaussian error linear unit (Hendrycks & Gimpel 2016,
// https://arxiv.org/abs/1606.08415), the Transformer's feed-forward nonlinearity, exactly as
// torch.nn.functional.gelu: x·Φ(x) with the exact erf, or the tanh approximation (GPT-2, BERT).
import { stableSigmoid } from './activations.js';
import {
  expectFloat,
  expectOneOf,
  expectOptions,
  expectSameDType,
  expectShape,
  fmt,
  Tensor,
  type FloatTensor,
} from '../tensor/index.js';

export type GeluApproximate = 'none' | 'tanh';

export interface GeluParam {
  /** 'none' (default): x·Φ(x) with the exact erf; 'tanh': torch's approximate='tanh'. */
  approximate?: GeluApproximate;
}

export interface GeluCache {
  readonly x: FloatTensor; // any shape
  readonly approximate: GeluApproximate;
}

const SQRT1_2 = Math.SQRT1_2,
  INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI),
  SQRT_2_OVER_PI = Math.sqrt(2 / Math.PI),
  TANH_CUBIC = 0.044715;

/**
 * erfc(z) for z >= 0 to a few ulps. Below 2: 1 − erf(z) with the series
 * erf(z) = 2/√π·e^(−z²)·Σₙ 2ⁿz^(2n+1)/(1·3·…·(2n+1)), whose terms are all positive (no
 * cancellation); from 2 on, where 1 − erf would lose digits, the continued fraction
 * erfc(z) = e^(−z²)/√π · 1/(z + (1/2)/(z + 1/(z + (3/2)/(z + …)))), evaluated by modified Lentz
 * (Numerical Recipes §5.2). JavaScript has no Math.erf.
 */
function erfcNonNegative(z: number): number {
  if (z < 2) {
    let term = z,
      sum = z;
    for (let n = 1; term > 1e-17 * sum; n++) {
      term *= (2 * z * z) / (2 * n + 1);
      sum += term;
    }
    return 1 - (2 / Math.sqrt(Math.PI)) * Math.exp(-z * z) * sum;
  }
  if (z > 27) return 0; // below the smallest double
  const tiny = 1e-300;
  let f = z,
    C = z,
    D = 0;
  for (let k = 1; k < 500; k++) {
    const a = k / 2; // partial numerators 1/2, 1, 3/2, 2, ...
    D = z + a * D;
    D = 1 / (Math.abs(D) < tiny ? tiny : D);
    C = z + a / C;
    if (Math.abs(C) < tiny) C = tiny;
    const delta = C * D;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return Math.exp(-z * z) / (Math.sqrt(Math.PI) * f);
}

/** Φ(x) = P(Z <= x) for standard normal Z, accurate in the lower tail too: erfc(−x/√2)/2. */
export function normalCdf(x: number): number {
  const z = x * SQRT1_2;
  return z >= 0 ? 1 - 0.5 * erfcNonNegative(z) : 0.5 * erfcNonNegative(-z);
}

function geluParamOf(fn: string, param: GeluParam): GeluApproximate {
  if (param === null || typeof param !== 'object')
    throw new TypeError(`${fn}: geluParam must be an object`);
  expectOptions(fn, param, ['approximate']);
  return expectOneOf(fn, 'geluParam.approximate', param.approximate ?? 'none', [
    'none',
    'tanh',
  ] as const);
}

/**
 * out = x·Φ(x), Φ the standard normal CDF (approximate 'none'), or
 * out = ½x·(1 + tanh(√(2/π)·(x + 0.044715x³))) (approximate 'tanh'). Φ comes from erfc, so the
 * lower tail keeps its relative precision (torch's ½(1 + erf) loses digits there: 6e-11 at x = −6).
 * x: any shape  =>  out: same shape
 */
export function geluForward(
  x: Tensor,
  geluParam: GeluParam = {},
): { out: FloatTensor; cache: GeluCache } {
  const fn = 'geluForward';
  expectFloat(fn, 'x', x);
  const approximate = geluParamOf(fn, geluParam);
  const out = Tensor.empty(x.shape, x.dtype),
    xd = x.data,
    od = out.data;
  if (approximate === 'tanh') {
    // ½(1 + tanh u) = σ(2u), which keeps its digits where 1 + tanh u would cancel (x << 0)
    for (let i = 0; i < xd.length; i++) od[i] = xd[i] * stableSigmoid(2 * tanhArg(xd[i]));
  } else {
    for (let i = 0; i < xd.length; i++) od[i] = xd[i] * normalCdf(xd[i]);
  }
  return { out, cache: { x, approximate } };
}

/** u = √(2/π)·(x + 0.044715x³), the argument of the tanh approximation. */
function tanhArg(x: number): number {
  return SQRT_2_OVER_PI * (x + TANH_CUBIC * x * x * x);
}

/**
 * 'none': dx = dout·(Φ(x) + x·φ(x)), φ(x) = e^(−x²/2)/√(2π);
 * 'tanh': with u = √(2/π)(x + 0.044715x³), t = tanh u, written through s = σ(2u) = ½(1 + t)
 * (so 1 − t² = 4s(1 − s)):  dx = dout·(s + 2x·s(1 − s)·√(2/π)(1 + 3·0.044715x²)).
 */
export function geluBackward(dout: Tensor, cache: GeluCache): { dx: FloatTensor } {
  const fn = 'geluBackward';
  const { x, approximate } = cache;
  expectFloat(fn, 'dout', dout);
  expectShape(fn, 'dout', dout, x.shape, `the forward input was ${fmt(x.shape)}`);
  expectSameDType(fn, { dout, x });
  const dx = Tensor.empty(x.shape, x.dtype),
    xd = x.data,
    gd = dout.data,
    dd = dx.data;
  if (approximate === 'tanh') {
    for (let i = 0; i < xd.length; i++) {
      const v = xd[i],
        s = stableSigmoid(2 * tanhArg(v));
      const du = SQRT_2_OVER_PI * (1 + 3 * TANH_CUBIC * v * v);
      dd[i] = gd[i] * (s + 2 * v * s * (1 - s) * du);
    }
  } else {
    for (let i = 0; i < xd.length; i++) {
      const v = xd[i];
      dd[i] = gd[i] * (normalCdf(v) + v * INV_SQRT_2PI * Math.exp(-0.5 * v * v));
    }
  }
  return { dx };
}
