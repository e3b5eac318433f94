// Reads the env file scripts/testdc.sh writes (KEY=value lines), for the bench scripts.
'use strict';
const { readFileSync } = require('node:fs');

function readEnv(file) {
  const env = {};
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([A-Z0-9_]+)=(.*)$/.exec(line);
    if (m) env[m[1]] = m[2];
  }
  return env;
}

module.exports = { readEnv };
