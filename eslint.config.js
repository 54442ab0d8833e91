// @ts-check
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import globals from 'globals';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const ROOT = import.meta.dirname;
const abs = (/** @type {string} */ glob) => `${ROOT}/${glob}`;

/**
 * The pure core: text and records in, records out. No I/O, no clock, no
 * environment, and imports of pure modules only, so no I/O is reached through
 * another file either (DEVELOPERS.md, "Layers").
 */
const PURE = [
  'agent/core/**',
  'agent/{errors,config}.ts',
  'agent/*/parse/**',
  'agent/*/model/**',
  'agent/hints/**',
  'agent/diagnosis/**',
  'agent/export/render/**',
  'agent/export/{webConfig,clientCert}.ts',
  'agent/errorlog/tail/+(lineSplitter).ts',
];

/**
 * The one-way flow, lowest layer first: read → parse → model → hints → diagnosis
 * → export → commands → cli. A module imports from its own layer and the layers
 * below it. The domains share a layer and never import each other: what two of
 * them need lives in core/ (pure) or io/ (I/O). nat/ reads the socket domain's
 * per-destination model and puts the NATs' limits beside the kernel's, so it sits
 * above the domains and below the hints that judge it.
 */
const LAYERS = [
  { name: 'core', paths: ['agent/core/**', 'agent/{errors,config}.ts'] },
  { name: 'io', paths: ['agent/io/**', 'agent/{logger,version,nodeFlags}.ts'] },
  { name: 'domains', domains: ['agent/sockets/**', 'agent/errorlog/**', 'agent/nginxconf/**', 'agent/host/**'] },
  { name: 'nat', paths: ['agent/nat/**'] },
  { name: 'hints', paths: ['agent/hints/**'] },
  { name: 'diagnosis', paths: ['agent/diagnosis/**'] },
  { name: 'export', paths: ['agent/export/**'] },
  { name: 'commands', paths: ['agent/commands/**'] },
  { name: 'cli', paths: ['agent/{cli,main}.ts'] },
];

const pathsOf = (/** @type {typeof LAYERS[number]} */ layer) => layer.paths ?? layer.domains ?? [];

/** @type {{ target: string[]; from: string[]; message: string }[]} */
const layerZones = [];
LAYERS.forEach((layer, i) => {
  const higher = LAYERS.slice(i + 1).flatMap(pathsOf);
  if (layer.domains !== undefined) {
    for (const domain of layer.domains) {
      const others = layer.domains.filter((d) => d !== domain);
      layerZones.push({
        target: [domain],
        from: [...others, ...higher].map(abs),
        message: `${domain.replace('/**', '')} is a domain: it imports core/, io/ and itself only (one-way layers, eslint.config.js).`,
      });
    }
  } else if (higher.length > 0) {
    layerZones.push({
      target: pathsOf(layer),
      from: higher.map(abs),
      message: `the ${layer.name} layer imports only from itself and lower layers (one-way layers, eslint.config.js).`,
    });
  }
});

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
    files: ['agent/**/*.ts'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: `${ROOT}/tsconfig.json` })] },
    rules: {
      'import-x/no-restricted-paths': [
        'error',
        {
          basePath: ROOT,
          zones: [
            ...layerZones,
            {
              target: PURE,
              from: [abs('agent/**')],
              except: PURE.map(abs),
              message: 'a pure module imports only pure modules (no I/O, directly or through another file).',
            },
          ],
        },
      ],
      'import-x/no-cycle': 'error',
      // A function a newcomer can read in one sitting (DEVELOPERS.md, "Layers").
      'max-lines-per-function': ['error', { max: 120 }],
      // One clock: commands take `now` from a clock they are given, and pass it on.
      'no-restricted-properties': ['error', { object: 'Date', property: 'now', message: 'Time is a parameter: take `now` (or a clock) from the caller.' }],
    },
  },
  {
    // The pure core must stay free of I/O, clocks and environment.
    files: PURE,
    rules: {
      'no-restricted-imports': ['error', { patterns: ['node:*', 'fs', 'os', 'pino', 'systeminformation', 'chokidar', 'fastify', 'prom-client'] }],
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
