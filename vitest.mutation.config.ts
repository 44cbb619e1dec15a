import { defineConfig } from 'vitest/config';

// Mutation testing (npm run test:mutation) reruns the unit tests for every
// mutant, so it runs only tests that import src/ directly: integration and
// safety tests drive the built CLI in dist/, which Stryker does not mutate.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    exclude: ['test/integration/**', 'test/safety/**', 'node_modules/**'],
    fileParallelism: false,
    testTimeout: 30_000,
  },
});
