import { defineConfig } from 'vitest/config';

// The test processes load onnxruntime themselves (engine tests): without this each leaves a mat-debug-PID.log in the
// temp folder (ort-child.ts telemetryOffEnv), and a later process given the same pid would seem to have left it.
process.env.ORT_DISABLE_TELEMETRY ??= '1';

// Files that run two at a time, in a group of their own (never beside an engine file; the rest of the suite runs one
// file at a time): browser tests against the fake host, which mostly wait on chromium and the fake's timers, not on
// onnxruntime. The CLI's refusal tables were tried here too: two of them at once were no faster than one by one.
const PARALLEL_FILES = [
  'tests/renderer-e2e/accessibility.test.ts',
  'tests/renderer-e2e/devices.test.ts',
  'tests/renderer-e2e/first-hour.test.ts',
  'tests/renderer-e2e/host-token.test.ts',
  'tests/renderer-e2e/keyboard-only.test.ts',
  'tests/renderer-e2e/mask-editor.test.ts',
  'tests/renderer-e2e/masks-history.test.ts',
  'tests/renderer-e2e/renderer-fake.test.ts',
];

// Each project's own options (not `extends: true`: that would run the root's global setup once per project too).
const shared = { testTimeout: 120_000, hookTimeout: 120_000, pool: 'forks' } as const;

export default defineConfig({
  test: {
    // Once for the whole run, both projects: the CLI build and the run's id (tests/global-setup.ts).
    globalSetup: ['tests/global-setup.ts'],
    reporters: ['default', './tests/helpers/summary-reporter.ts'],
    projects: [
      {
        test: {
          ...shared,
          name: 'serial',
          include: ['tests/**/*.test.ts'],
          exclude: PARALLEL_FILES,
          // onnxruntime sessions are CPU-heavy: running files in parallel on a 2-core machine only thrashes.
          fileParallelism: false,
          sequence: { groupOrder: 0 },
        },
      },
      {
        test: {
          ...shared,
          name: 'parallel',
          include: PARALLEL_FILES,
          maxWorkers: 2,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
});
