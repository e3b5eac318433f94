// One pre-staged AD computer account and its offline domain join package.
//
// The directory connection comes from the provider's stack config (or ODJ_* environment variables),
// not from resource inputs, so the bind password is never part of this resource's state:
//   pulumi config set odj:ldapUrl ldaps://dc1.example.test:636
//   pulumi config set odj:bindUser 'Administrator@EXAMPLE.TEST'
//   pulumi config set --secret odj:bindPassword '…'
//   pulumi config set odj:caFile /path/to/ca.pem
//   pulumi config set domain example.test
import * as pulumi from '@pulumi/pulumi';
import { OfflineJoinPackage } from 'pulumi-offline-join';

const config = new pulumi.Config();

const web01 = new OfflineJoinPackage('web01', {
  domain: config.require('domain'),
  machineName: config.get('machineName') ?? 'WEB01',
  machineAccountOU: config.get('machineAccountOU'),
  // Bump to issue a fresh package (new machine password) for the same account.
  rotationTriggers: { generation: config.get('generation') ?? '1' },
});

export const distinguishedName = web01.distinguishedName;
export const objectSid = web01.objectSid;
export const samAccountName = web01.samAccountName;
// Secret: `pulumi stack output packageText --show-secrets` prints it.
export const packageText = web01.packageText;
