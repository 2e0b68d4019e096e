// eslint.config.js: typescript-eslint's recommended rules, plus the project's layering rule
// (scripts/eslint/layering.mjs). Formatting is Prettier's job (.prettierrc.json), not ESLint's.
// The AssemblyScript kernels are not TypeScript to these tools (top-level decorators such as
// @inline): scripts/check-assembly.mjs holds them to the same 100 columns.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import { layeringRule } from './scripts/eslint/layering.mjs';

export default tseslint.config(
  {
    ignores: [
      'dist/**',
      'node_modules/**',
      'src/kernels/wasm/build/**',
      '**/assembly/**',
      'runs/**',
      'out/**',
    ],
  },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    languageOptions: {
      globals: {
        console: 'readonly',
        process: 'readonly',
        performance: 'readonly',
        atob: 'readonly',
        btoa: 'readonly',
        SharedArrayBuffer: 'readonly',
        Atomics: 'readonly',
        URL: 'readonly',
        TextEncoder: 'readonly',
        TextDecoder: 'readonly',
        setTimeout: 'readonly',
        clearTimeout: 'readonly',
        setInterval: 'readonly',
        clearInterval: 'readonly',
        queueMicrotask: 'readonly',
        Buffer: 'readonly',
        structuredClone: 'readonly',
        globalThis: 'readonly',
        self: 'readonly',
        postMessage: 'readonly',
        document: 'readonly',
        window: 'readonly',
        requestAnimationFrame: 'readonly',
        fetch: 'readonly',
        Worker: 'readonly',
        Blob: 'readonly',
        crypto: 'readonly',
        navigator: 'readonly',
      },
    },
    plugins: { layerwise: { rules: { layering: layeringRule } } },
    rules: {
      'layerwise/layering': 'error',
      '@typescript-eslint/no-unused-expressions': [
        'error',
        { allowShortCircuit: true, allowTernary: true },
      ],
      '@typescript-eslint/no-unused-vars': [
        'error',
        { argsIgnorePattern: '^_', varsIgnorePattern: '^_' },
      ],
    },
  },
);
