// Lint rules hold the architecture: pure packages take time, randomness and I/O through ports.
import tseslint from 'typescript-eslint';

const pureRestrictions = {
  'no-restricted-imports': ['error', { patterns: [{ group: ['node:*'], message: 'Pure package: take I/O through a port (see packages/common ports).' }] }],
  'no-restricted-properties': ['error',
    { object: 'Date', property: 'now', message: 'Use clock.nowMs() from an injected Clock.' },
    { object: 'Math', property: 'random', message: 'Use an injected Rng.' },
  ],
  'no-restricted-globals': ['error',
    { name: 'setTimeout', message: 'Use an injected Timer.' },
    { name: 'setInterval', message: 'Use an injected Timer.' },
  ],
};

export default tseslint.config(
  { ignores: ['**/node_modules/**', '**/dist/**', '**/.turbo/**', '**/generated/**'] },
  {
    files: ['**/*.ts'],
    languageOptions: { parser: tseslint.parser },
    plugins: { '@typescript-eslint': tseslint.plugin },
    rules: {
      'no-debugger': 'error',
      'no-var': 'error',
      'prefer-const': 'error',
      eqeqeq: ['error', 'always', { null: 'ignore' }],
      '@typescript-eslint/no-unused-vars': ['error', { argsIgnorePattern: '^_', varsIgnorePattern: '^_' }],
    },
  },
  {
    // The codec is pure except for compression codecs (zlib), which are CPU-only.
    files: ['packages/common/src/**/*.ts', 'packages/protocol/src/**/*.ts', 'packages/raft/src/**/*.ts', 'packages/sim/src/**/*.ts', 'packages/metadata/src/**/*.ts', 'packages/replication/src/**/*.ts'],
    ignores: ['**/*.test.ts', 'packages/protocol/src/compression.ts', 'packages/protocol/src/crc32c.ts', 'packages/sim/src/cli.ts', 'packages/sim/src/soak.ts'],
    rules: pureRestrictions,
  },
);
