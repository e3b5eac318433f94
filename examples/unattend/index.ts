// A package rendered into unattend.xml (offlineServicing pass), written to a file for image builds.
// Connection settings: stack config odj:* or ODJ_* environment variables, as in examples/basic.
import * as fs from 'node:fs';
import * as path from 'node:path';
import * as pulumi from '@pulumi/pulumi';
import { OfflineJoinPackage, renderUnattendXml, type UnattendArchitecture } from 'pulumi-offline-join';

const config = new pulumi.Config();
const outFile = path.resolve(config.get('unattendFile') ?? 'unattend.xml');
const architecture = (config.getObject<UnattendArchitecture[]>('architectures') ?? ['amd64']);

const pkg = new OfflineJoinPackage('image01', {
  domain: config.require('domain'),
  machineName: config.get('machineName') ?? 'IMAGE01',
  machineAccountOU: config.get('machineAccountOU'),
});

// A secret Output: it carries the machine password.
const unattendXml = renderUnattendXml(pkg.packageText, { architecture });

// Written only during `pulumi up` (during preview the text is unknown). The file holds a secret:
// readable by its owner only.
export const unattendFile = unattendXml.apply((xml) => {
  fs.writeFileSync(outFile, xml, { mode: 0o600 });
  return outFile;
});
export const samAccountName = pkg.samAccountName;
