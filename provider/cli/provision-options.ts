// The flags of `odj provision`, apart from the command: cli.ts reads the connection flags with
// them before the command (and the LDAP client) has loaded, to open the TLS connection early.
import { connectionOptions, type Options } from './args';

export const provisionOptions: Options = {
  domain: { type: 'string' },
  machine: { type: 'string' },
  machineou: { type: 'string' },
  dcname: { type: 'string' },
  reuse: { type: 'boolean' },
  enable: { type: 'boolean' },
  defpwd: { type: 'boolean' },
  nosearch: { type: 'boolean' },
  downlevel: { type: 'boolean' },
  rootcacerts: { type: 'boolean' },
  certtemplate: { type: 'string', multiple: true },
  policynames: { type: 'string', multiple: true },
  policypaths: { type: 'string', multiple: true },
  certpfx: { type: 'string', multiple: true },
  sysvolroot: { type: 'string' },
  netbios: { type: 'string' },
  psite: { type: 'string' },
  dsite: { type: 'string' },
  primarydns: { type: 'string' },
  'owner-tag': { type: 'string' },
  savefile: { type: 'string' },
  printblob: { type: 'boolean' },
  json: { type: 'boolean' },
  quiet: { type: 'boolean', short: 'q' },
  batch: { type: 'string' },
  savedir: { type: 'string' },
  ...connectionOptions,
};
