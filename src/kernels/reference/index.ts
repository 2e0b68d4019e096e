// src/kernels/reference/index.ts: the reference backend, the plain TypeScript kernels that are
// the definition every fast backend is checked against; one file per kernel family, as in
// src/kernels/wasm/assembly/. Every export of a family file is a kernel: the backend is their
// union, so a new kernel is one function in its family file (and its line in ../types.ts).
import type { DType } from '../../tensor/index.js';
import type { Kernels } from '../types.js';
import * as channels from './channels.js';
import * as conv from './conv.js';
import * as elementwise from './elementwise.js';
import * as gemm from './gemm.js';
import * as optim from './optim.js';
import * as pool from './pool.js';

export const reference: Kernels = {
  name: 'reference',
  supports: (dtype: DType) => dtype === 'float32' || dtype === 'float64',
  ...gemm,
  ...conv,
  ...pool,
  ...channels,
  ...elementwise,
  ...optim,
};
