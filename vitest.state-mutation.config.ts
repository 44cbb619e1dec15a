import { defineConfig } from 'vitest/config';

// A narrower mutation run for the state area (npx stryker run stryker.state.json):
// only the unit tests that exercise state, recovery, locks and paths.
export default defineConfig({
  test: {
    include: ['test/config/lock.test.ts', 'test/config/store-lock.test.ts', 'test/config/paths.test.ts', 'test/runtime/state.test.ts', 'test/runtime/recover.test.ts'],
    fileParallelism: false,
    testTimeout: 60_000,
  },
});
