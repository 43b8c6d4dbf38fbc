#!/usr/bin/env node
// Thin launcher: the built CLI lives in dist/ (npm run build); during development use `npm run cli`.
import('../dist/cli.js').catch((err) => {
  console.error(`tfjs-compress: cannot start (${err.message}). Run \`npm run build\` first.`);
  process.exit(1);
});
