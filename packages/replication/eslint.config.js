// The repository rules plus the pure-package restrictions for src/ (until the root config lists this package).
import root from '../../eslint.config.js';

export default [
  ...root,
  {
    files: ['src/**/*.ts'],
    rules: {
      'no-restricted-imports': ['error', { patterns: [{ group: ['node:*'], message: 'Pure package: take I/O through a port (see packages/common ports).' }] }],
      'no-restricted-properties': ['error',
        { object: 'Date', property: 'now', message: 'Pass nowMs in.' },
        { object: 'Math', property: 'random', message: 'Use an injected Rng.' },
      ],
      'no-restricted-globals': ['error',
        { name: 'setTimeout', message: 'Pure rules start no timers.' },
        { name: 'setInterval', message: 'Pure rules start no timers.' },
      ],
    },
  },
];
