import { defineConfig } from 'vitest/config';

// Integration tests boot real QEMU guests under TCG; there are only two cores,
// so test files run one at a time and each test gets a generous timeout.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/global-setup.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
    reporters: ['default'],
  },
});
