// The resource class under Pulumi's own mock monitor (pulumi.runtime.setMocks), loaded from the
// compiled package as a Pulumi program would load it: what it registers, what is secret, what is
// unknown during preview, and that both examples type-check and register what they should.
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { buildInto, findRepoRoot, loadNative, runProgram } from '../examples/runner/engine';

const root = findRepoRoot();
const outDir = join(root, 'dist', '.test-resource-mocks');
let main: string;

// The SDK's marker for a secret value in a RegisterResource request (runtime/rpc specialSigKey/SecretSig).
const sigKey = '4dabf18193072939515e22adb298388d';
const secretSig = '1b47061264138c4ac30d75fd1eb44270';
const type = 'pulumi-nodejs:dynamic/odj:OfflineJoinPackage';

beforeAll(() => {
  rmSync(outDir, { recursive: true, force: true });
  main = buildInto(outDir);
});

describe('OfflineJoinPackage under the SDK mock monitor', () => {
  it('registers its inputs with the bind password as a secret and asks the engine to keep outputs secret', async () => {
    const password = 'Bind-Pa55word-in-input';
    const run = await runProgram(
      () => {
        const { OfflineJoinPackage } = loadNative(main) as typeof import('../provider/index');
        const p = new OfflineJoinPackage('web01', {
          domain: 'odjtest.test',
          machineName: 'WEB01',
          url: 'ldaps://dc1.odjtest.test:636',
          bindUser: 'Administrator@odjtest.test',
          bindPassword: password,
          rotationTriggers: { generation: '1' },
        });
        return { packageText: p.packageText, objectSid: p.objectSid };
      },
      { config: {}, project: 'odj', preview: true, packageMain: main },
    );
    expect(run.resources).toHaveLength(1);
    const r = run.resources[0];
    expect(r.type).toBe(type);
    expect(r.name).toBe('web01');
    expect(r.additionalSecretOutputs.sort()).toEqual(['bindPassword', 'certificates', 'packageText']);
    // As the engine receives it: the password only inside a secret wrapper (the engine encrypts those).
    expect(r.rawInputs.bindPassword).toEqual({ [sigKey]: secretSig, value: password });
    const { bindPassword, __provider, ...others } = r.rawInputs;
    void bindPassword;
    expect(JSON.stringify(others)).not.toContain(password);
    expect(others).toEqual({
      domain: 'odjtest.test',
      machineName: 'WEB01',
      url: 'ldaps://dc1.odjtest.test:636',
      bindUser: 'Administrator@odjtest.test',
      rotationTriggers: { generation: '1' },
      // ties the accounts it creates to this resource (adoption of an interrupted create)
      ownerTag: 'odj/dev/odj:OfflineJoinPackage/web01',
    });
    // The serialized provider: no secret, no connection setting, only the lifecycle module's path.
    const provider = typeof __provider === 'string' ? __provider : JSON.stringify(__provider);
    expect(provider).toContain('exports.handler');
    expect(provider).toContain(join(outDir, 'provider', 'resource-provider.js'));
    for (const s of [password, 'dc1.odjtest.test', 'Administrator']) expect(provider).not.toContain(s);
    expect(provider.length).toBeLessThan(8000);
    // During preview the package is not known yet.
    expect(run.exports.packageText.known).toBe(false);
    expect(run.exports.objectSid.known).toBe(false);
  });

  it('registers each certificate PFX as a secret (the template readable) and keeps certificates secret in outputs', async () => {
    // Stands for the base64 of a PFX a TLS or Vault resource made; preview runs no check.
    const pfx = `MII${'Pfx-secret-text-'.repeat(4)}`;
    const lateKey = `MII${'Late-pfx-'.repeat(4)}`;
    const run = await runProgram(
      () => {
        const pulumi = loadNative('@pulumi/pulumi') as typeof import('@pulumi/pulumi');
        const { OfflineJoinPackage } = loadNative(main) as typeof import('../provider/index');
        new OfflineJoinPackage('web02', {
          domain: 'odjtest.test',
          machineName: 'WEB02',
          certTemplateNames: ['Machine'],
          certificates: [{ templateName: 'Machine', pfx, policyServerId: 'cep-1' }],
          machinePolicyNames: ['Default Domain Policy'],
          sysvolRoot: '/srv/sysvol',
        });
        // A list that is itself an Output (e.g. from another resource) is made secret whole.
        new OfflineJoinPackage('web03', {
          domain: 'odjtest.test',
          machineName: 'WEB03',
          certificates: pulumi.output([{ templateName: 'Machine', pfx: lateKey }]),
        });
        return {};
      },
      { config: {}, project: 'odj', preview: true, packageMain: main },
    );
    expect(run.resources.map((r) => r.name)).toEqual(['web02', 'web03']);
    const [r2, r3] = run.resources;
    for (const r of [r2, r3]) expect(r.additionalSecretOutputs).toContain('certificates');
    expect(r2.rawInputs.certificates).toEqual([{ templateName: 'Machine', pfx: { [sigKey]: secretSig, value: pfx }, policyServerId: 'cep-1' }]);
    expect(r3.rawInputs.certificates).toEqual({ [sigKey]: secretSig, value: [{ templateName: 'Machine', pfx: lateKey }] });
    const { __provider, certificates, ...others } = r2.rawInputs;
    void certificates;
    expect(others).toEqual({
      domain: 'odjtest.test',
      machineName: 'WEB02',
      certTemplateNames: ['Machine'],
      machinePolicyNames: ['Default Domain Policy'],
      sysvolRoot: '/srv/sysvol',
      ownerTag: 'odj/dev/odj:OfflineJoinPackage/web02',
    });
    for (const s of [pfx, lateKey]) {
      expect(String(__provider)).not.toContain(s);
      expect(String(r3.rawInputs.__provider)).not.toContain(s);
    }
  });

  it('examples/basic registers one package from its stack config', async () => {
    const run = await runProgram(resolve(root, 'examples/basic/index.ts'), {
      config: { 'odj-basic:domain': 'odjtest.test', 'odj-basic:machineName': 'BASIC01', 'odj-basic:generation': '7' },
      project: 'odj-basic',
      preview: true,
      packageMain: main,
    });
    expect(run.resources.map((r) => [r.type, r.name])).toEqual([[type, 'web01']]);
    const { __provider, ...inputs } = run.resources[0].inputs;
    expect(typeof __provider).toBe('string');
    expect(inputs).toEqual({ domain: 'odjtest.test', machineName: 'BASIC01', rotationTriggers: { generation: '7' }, ownerTag: 'odj-basic/dev/odj:OfflineJoinPackage/web01' });
    expect(Object.keys(run.exports).sort()).toEqual(['distinguishedName', 'objectSid', 'packageText', 'samAccountName']);
    expect(run.exports.packageText.known).toBe(false);
  });

  it('examples/unattend registers its package and writes nothing during preview', async () => {
    const file = join(outDir, 'preview-unattend.xml');
    const run = await runProgram(resolve(root, 'examples/unattend/index.ts'), {
      config: { 'odj-unattend:domain': 'odjtest.test', 'odj-unattend:unattendFile': file, 'odj-unattend:architectures': '["amd64","arm64"]' },
      project: 'odj-unattend',
      preview: true,
      packageMain: main,
    });
    expect(run.resources.map((r) => [r.type, r.name])).toEqual([[type, 'image01']]);
    const { __provider, ...inputs } = run.resources[0].inputs;
    void __provider;
    expect(inputs).toEqual({ domain: 'odjtest.test', machineName: 'IMAGE01', ownerTag: 'odj-unattend/dev/odj:OfflineJoinPackage/image01' });
    expect(run.exports.unattendFile.known).toBe(false);
    expect(existsSync(file)).toBe(false);
  });

  it('both examples type-check against the package API', () => {
    const tsc = resolve(root, 'node_modules/typescript/bin/tsc');
    for (const ex of ['basic', 'unattend']) {
      execFileSync(process.execPath, [tsc, '-p', resolve(root, 'examples', ex, 'tsconfig.json')], { encoding: 'utf8' });
    }
  });
});
