// For the bench scripts: the env file scripts/testdc.sh writes (KEY=value lines), and the attributes
// of a computer account as odj writes them (the floors add exactly those).
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

/** objectClass, sAMAccountName, userAccountControl, dNSHostName, four SPNs and the unicodePwd. */
function computerAttributes(Attribute, name, domain, password) {
  const fqdn = `${name.toLowerCase()}.${domain}`;
  return [
    new Attribute({ type: 'objectClass', values: ['computer'] }),
    new Attribute({ type: 'sAMAccountName', values: [`${name}$`] }),
    new Attribute({ type: 'userAccountControl', values: ['4096'] }),
    new Attribute({ type: 'dNSHostName', values: [fqdn] }),
    new Attribute({ type: 'servicePrincipalName', values: [`HOST/${name}`, `HOST/${fqdn}`, `RestrictedKrbHost/${name}`, `RestrictedKrbHost/${fqdn}`] }),
    new Attribute({ type: 'unicodePwd', values: [Buffer.from(`"${password}"`, 'utf16le')] }),
  ];
}

module.exports = { readEnv, computerAttributes };
