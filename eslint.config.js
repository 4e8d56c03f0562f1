// Lint: typescript-eslint's recommended rules over the TypeScript sources and tests, and the engine's public surface.
import tseslint from 'typescript-eslint';

export default tseslint.config(
  { ignores: ['out/**', 'dist/**', 'node_modules/**', 'test-artifacts/**', '.cache/**'] },
  ...tseslint.configs.recommended,
  {
    rules: {
      '@typescript-eslint/no-explicit-any': 'error',
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
    },
  },
  {
    // The CLI, the main process and the browser host see the engine through src/engine/index.ts only.
    files: ['src/cli/**/*.ts', 'src/main/**/*.ts', 'src/server/**/*.ts'],
    rules: {
      'no-restricted-imports': [
        'error',
        {
          patterns: [
            {
              regex: '(^|/)engine/(?!index\\.js$).+',
              message: 'Import the engine through src/engine/index.ts (its public surface), not its inner modules.',
            },
          ],
        },
      ],
    },
  },
  {
    // The renderer runs in a sandboxed page: it never imports the engine (Node, onnxruntime, sharp).
    files: ['src/renderer/**/*.ts', 'src/shared/**/*.ts', 'src/preload/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ regex: '(^|/)engine/', message: 'The renderer, preload and shared contract never import the engine.' }] }],
    },
  },
);
