import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    globalSetup: ['test/support/global-setup.ts'],
    // Every file's printed output is searched for secrets afterwards (a hit fails the file).
    setupFiles: ['test/support/secret-watch.ts'],
    // Tests share one DC; the integration suites talk to it and run peers, which takes seconds.
    testTimeout: 120_000,
    hookTimeout: 180_000,
    pool: 'forks',
  },
});
