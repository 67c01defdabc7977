// The lint gate (npm run lint): typescript-eslint's recommended rules, and the floors of ARCHITECTURE.md as
// import rules, so that what may import what stays true.
import js from '@eslint/js';
import tseslint from 'typescript-eslint';
import importX from 'eslint-plugin-import-x';
import { createTypeScriptImportResolver } from 'eslint-import-resolver-typescript';

const family = [
  'nodes/amqp',
  'nodes/keycloak',
  'nodes/nextcloud',
  'nodes/odoo',
  'nodes/shared-db',
  'nodes/flow',
  'nodes/smtp',
  'nodes/webhook',
  'nodes/gateway',
];
const outside = ['host', 'peers', 'test', 'bench', 'seeds', 'settings.ts', 'scripts'];

export default tseslint.config(
  { ignores: ['dist/**', 'examples/**', 'node_modules/**', 'screenshots/**', '**/*.html', 'docker/**'] },
  js.configs.recommended,
  ...tseslint.configs.recommended,
  {
    files: ['**/*.ts'],
    plugins: { 'import-x': importX },
    settings: { 'import-x/resolver-next': [createTypeScriptImportResolver({ project: './tsconfig.json' })] },
    rules: {
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_', caughtErrors: 'none' }],
      '@typescript-eslint/consistent-type-imports': ['error', { fixStyle: 'inline-type-imports' }],
      // Node-RED's constructor idiom (`const node = this`) is how its own nodes keep the node in callbacks.
      '@typescript-eslint/no-this-alias': ['error', { allowedNames: ['node', 'configNode', 'peer'] }],
      // EventEmitter subclasses declare their typed on()/once() overloads by interface merging.
      '@typescript-eslint/no-unsafe-declaration-merging': 'off',
      'import-x/no-cycle': 'error',
      'import-x/no-self-import': 'error',
      'import-x/no-restricted-paths': [
        'error',
        {
          zones: [
            // Clients are the ground floor: they import nothing of ours above them.
            {
              target: 'nodes/clients',
              from: ['nodes/lib', 'nodes/domain', ...family, ...outside],
              message: 'nodes/clients/ imports nothing of ours above it (ARCHITECTURE.md)',
            },
            // Domain rules use clients only.
            { target: 'nodes/domain', from: ['nodes/lib', ...family, ...outside], message: 'nodes/domain/ uses only nodes/clients/ (ARCHITECTURE.md)' },
            // What the palette loads never reaches the host, the peers, tests, benches or seeds.
            { target: 'nodes', from: outside, message: 'nodes/ holds only what the palette loads (ARCHITECTURE.md)' },
            // The node families do not reach into each other: what they share is in nodes/lib or below.
            ...family.map((f) => ({
              target: f,
              from: family.filter((o) => o !== f),
              message: 'a node family does not import another one; share through nodes/lib, nodes/domain or nodes/clients',
            })),
            // The host (settings.ts) uses clients, never node code or test code.
            {
              target: ['host', 'settings.ts'],
              from: ['nodes/lib', 'nodes/domain', ...family, 'peers', 'test', 'bench', 'seeds'],
              message: 'host/ uses only nodes/clients/ (ARCHITECTURE.md)',
            },
            // The peers are shipped: clients and seeds only.
            {
              target: 'peers',
              from: ['nodes/lib', 'nodes/domain', ...family, 'host', 'test', 'bench'],
              message: 'peers/ are shipped: they use only nodes/clients/ and seeds/',
            },
            { target: 'seeds', from: ['nodes/lib', 'nodes/domain', ...family, 'host', 'peers', 'test', 'bench'], message: 'seeds/ use only nodes/clients/' },
          ],
        },
      ],
    },
  },
  {
    // Tests load Node-RED's CommonJS test helper and node modules as Node-RED does, and drive loose node objects.
    files: ['test/**/*.ts'],
    rules: { '@typescript-eslint/no-require-imports': 'off', '@typescript-eslint/no-explicit-any': 'off' },
  },
  {
    files: ['scripts/**/*.js'],
    languageOptions: {
      sourceType: 'commonjs',
      globals: {
        require: 'readonly',
        module: 'writable',
        process: 'readonly',
        __dirname: 'readonly',
        console: 'readonly',
        setTimeout: 'readonly',
        URL: 'readonly',
        window: 'readonly',
        RED: 'readonly',
      },
    },
    rules: { '@typescript-eslint/no-require-imports': 'off' },
  },
);
