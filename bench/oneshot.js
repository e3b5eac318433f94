#!/usr/bin/env node
// The one-shot floor beside (a): a whole process that starts Node, loads ldapts, connects over TLS,
// binds and adds one computer account with odj's attributes and a password from odj's generator
// (no discovery, no package), then exits. Timed as a whole process by run.js; the account is
// deleted by run.js's cleanup.
//   usage: node bench/oneshot.js <env file> <name>
'use strict';
const { readFileSync } = require('node:fs');
const { Client, Attribute } = require('ldapts');
const { generateMachinePassword } = require('../dist/provider/directory/password');
const { computerAttributes, readEnv } = require('./env');

async function main() {
  const [envFile, name] = process.argv.slice(2);
  const env = readEnv(envFile);
  const domain = env.ODJ_TEST_DOMAIN.toLowerCase();
  const client = new Client({ url: env.ODJ_TEST_LDAP_URL, tlsOptions: { ca: [readFileSync(env.ODJ_TEST_CA_FILE)] }, timeout: 60_000 });
  try {
    await client.bind(env.ODJ_TEST_ADMIN_USER, env.ODJ_TEST_ADMIN_PASSWORD);
    const base = `CN=Computers,${domain.split('.').map((p) => `DC=${p}`).join(',')}`;
    await client.add(`CN=${name},${base}`, computerAttributes(Attribute, name, domain, generateMachinePassword()));
  } finally {
    await client.unbind().catch(() => undefined);
  }
}

main().catch((e) => {
  process.stderr.write(`oneshot: ${e && e.message ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
