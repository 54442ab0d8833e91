// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';

export default tseslint.config(
  { ignores: ['dist/**', 'node_modules/**', 'coverage/**'] },
  js.configs.recommended,
  ...tseslint.configs.strictTypeChecked,
  {
    languageOptions: {
      globals: { ...globals.node },
      parserOptions: { projectService: true, tsconfigRootDir: import.meta.dirname },
    },
    rules: {
      '@typescript-eslint/restrict-template-expressions': ['error', { allowNumber: true }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_' }],
      'no-console': 'error',
      // With noUncheckedIndexedAccess every typed-array read is `T | undefined`; the hot
      // loops index within checked bounds, so a `!` there is the honest annotation.
      '@typescript-eslint/no-non-null-assertion': 'off',
    },
  },
  {
    files: ['**/*.js', '**/*.mjs'],
    ...tseslint.configs.disableTypeChecked,
  },
  {
    // The pure core must stay free of I/O, clocks and environment (see README, "Code layout").
    files: ['agent/**/parse/**/*.ts', 'agent/**/model/**/*.ts', 'agent/hints/**/*.ts', 'agent/export/render/**/*.ts', 'agent/errorlog/tail/lineSplitter.ts', 'agent/errorlog/tail/glob.ts', 'agent/export/webConfig.ts', 'agent/export/clientCert.ts', 'agent/logEscape.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: ['node:*', 'fs', 'os', 'pino', 'systeminformation'] }],
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: 'Time is a parameter in the pure core.' },
        { object: 'process', property: 'env', message: 'The pure core reads no environment.' }],
    },
  },
  {
    // Collectors do their I/O through sockets/read/procfs.ts (so --proc-root and the
    // reused buffers apply to every read) and their parsing through sockets/parse/.
    files: ['agent/sockets/collectors/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*', 'fs', 'fs/*'], message: 'Collectors read through sockets/read/procfs.ts.' }] }],
    },
  },
  {
    files: ['test/**/*.ts', 'bench/**/*.ts'],
    rules: { 'no-console': 'off', '@typescript-eslint/no-non-null-assertion': 'off' },
  },
);
