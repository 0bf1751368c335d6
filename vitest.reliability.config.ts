import { defineConfig } from 'vitest/config';

// `npm run reliability`: the fault drills (reliability/*.reliability.ts). They drive real Chromium with a profile on
// disk from Node, take minutes each, and are kept out of `npm test`. Each writes .reliability-results/<drill>.json;
// scripts/reliability-report.mjs prints the report card from those files.
export default defineConfig({
  test: {
    name: 'reliability',
    environment: 'node',
    include: ['reliability/**/*.reliability.ts'],
    globalSetup: ['reliability/clear-results.global.ts'],
    // One drill at a time: they share two cores, and their timings are part of the figures.
    fileParallelism: false,
    testTimeout: 3 * 60 * 60 * 1000,
    hookTimeout: 120_000,
  },
});
