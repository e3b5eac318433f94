#!/usr/bin/env node
// The DC's own floor: what one computer account with its password costs the DC, measured with
// raw ldapts over a TLS connection that is already open and bound (none of odj's code). Each add
// carries the attributes odj writes (objectClass, sAMAccountName, userAccountControl, dNSHostName,
// four SPNs, a 120-character unicodePwd). Prints {"addsMs": [...]} on stdout, then deletes the
// accounts it made (not timed).
// The password's alphabet changes the DC's cost (Samba derives Kerberos keys from its UTF-8 form,
// three bytes per CJK character): `odj` draws passwords from odj's own generator, so the DC does
// exactly the work it does for odj; `ascii` uses 120 base64 characters, for comparison.
// With `all`, the reads (a base search of each account, for the attributes a refresh reads) and
// the deletes are timed too, for the stack row: {"addsMs", "readsMs", "delsMs"}.
//   usage: node bench/floor.js <env file> <count> <name prefix> [odj|ascii] [all]
'use strict';
const { readFileSync } = require('node:fs');
const { randomBytes } = require('node:crypto');
const { Client, Attribute } = require('ldapts');

const { computerAttributes, readEnv } = require('./env');

async function main() {
  const [envFile, countText, prefix, kind = 'odj', all] = process.argv.slice(2);
  // Only the generator: the timed part below is raw ldapts.
  const { generateMachinePassword } = require('../dist/provider/directory/password');
  const newPassword = kind === 'ascii' ? () => randomBytes(90).toString('base64') : () => generateMachinePassword();
  const env = readEnv(envFile);
  const count = Number(countText);
  const client = new Client({ url: env.ODJ_TEST_LDAP_URL, tlsOptions: { ca: [readFileSync(env.ODJ_TEST_CA_FILE)] }, timeout: 60_000 });
  await client.bind(env.ODJ_TEST_ADMIN_USER, env.ODJ_TEST_ADMIN_PASSWORD);
  const domain = env.ODJ_TEST_DOMAIN.toLowerCase();
  const base = `CN=Computers,${domain.split('.').map((p) => `DC=${p}`).join(',')}`;
  const made = [];
  const addsMs = [];
  try {
    for (let i = 0; i < count; i++) {
      const name = `${prefix}${String(i).padStart(3, '0')}`.toUpperCase();
      const dn = `CN=${name},${base}`;
      const attrs = computerAttributes(Attribute, name, domain, newPassword());
      const t = process.hrtime.bigint();
      await client.add(dn, attrs);
      addsMs.push(Number(process.hrtime.bigint() - t) / 1e6);
      made.push(dn);
    }
    if (all !== 'all') {
      process.stdout.write(JSON.stringify({ addsMs }) + '\n');
      return;
    }
    const timedEach = async (fn) => {
      const ms = [];
      for (const dn of made) {
        const t = process.hrtime.bigint();
        await fn(dn);
        ms.push(Number(process.hrtime.bigint() - t) / 1e6);
      }
      return ms;
    };
    const attributes = ['objectGUID', 'objectSid', 'sAMAccountName', 'userAccountControl', 'pwdLastSet', 'lastLogonTimestamp', 'logonCount', 'description'];
    const readsMs = await timedEach((dn) => client.search(dn, { scope: 'base', attributes, explicitBufferAttributes: ['objectGUID', 'objectSid'] }));
    const delsMs = await timedEach((dn) => client.del(dn));
    made.length = 0;
    process.stdout.write(JSON.stringify({ addsMs, readsMs, delsMs }) + '\n');
  } finally {
    for (const dn of made) await client.del(dn).catch(() => undefined);
    await client.unbind().catch(() => undefined);
  }
}

main().catch((e) => {
  // ldapts messages name DNs and codes, never the bind password.
  process.stderr.write(`floor: ${e && e.message ? e.message : String(e)}\n`);
  process.exitCode = 1;
});
