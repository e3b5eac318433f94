// A stand-in for the parts of the Pulumi engine a dynamic resource meets, for machines without the
// Pulumi CLI (CI, `npm run example`):
// - `startHost` starts @pulumi/pulumi's own dynamic-provider plugin process the way the engine
//   does (a child process that prints its gRPC port) and speaks the ResourceProvider gRPC protocol
//   to it with the SDK's own generated stubs;
// - `runProgram` runs a Pulumi program (TypeScript, like ts-node does) under the SDK's mock
//   monitor, and for each dynamic resource it registers performs Check and Create against that
//   host, marking additionalSecretOutputs secret as the engine does.
// Everything is loaded through Node's own require, so the provider is the compiled one the real
// engine would load, not a test-transformed copy.
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { createRequire } from 'node:module';
import * as path from 'node:path';

import { existsSync, readFileSync } from 'node:fs';

/** This repository: the nearest folder up whose package.json is ours (source or any build). */
export function findRepoRoot(from: string = __dirname): string {
  for (let dir = from; ; dir = path.dirname(dir)) {
    const pj = path.join(dir, 'package.json');
    if (existsSync(pj) && (JSON.parse(readFileSync(pj, 'utf8')) as { name?: string }).name === 'pulumi-offline-join') return dir;
    if (path.dirname(dir) === dir) throw new Error(`no pulumi-offline-join package.json above ${from}`);
  }
}

const repoRoot = findRepoRoot();
/** A Pulumi project that installed the package (ODJ_RUNNER_PROJECT; the pack-and-install test):
 *  @pulumi/pulumi, TypeScript and `pulumi-offline-join` then resolve from its node_modules, as
 *  under the Pulumi CLI. Unset: from this repository, whose examples get its own build. */
export const installedProject: string | undefined = process.env.ODJ_RUNNER_PROJECT ? path.resolve(process.env.ODJ_RUNNER_PROJECT) : undefined;
const nodeRequire = createRequire(path.join(installedProject ?? repoRoot, 'package.json'));
const pulumiRequire = createRequire(nodeRequire.resolve('@pulumi/pulumi/package.json'));

const grpc = pulumiRequire('@grpc/grpc-js') as any;
const structproto = pulumiRequire('google-protobuf/google/protobuf/struct_pb') as any;
const provproto = pulumiRequire('./proto/provider_pb') as any;
const provrpc = pulumiRequire('./proto/provider_grpc_pb') as any;

export type Props = Record<string, unknown>;

/** Node's own require, from the repository root (or the installed project): what a Pulumi program would load. */
export const loadNative = (id: string): unknown => nodeRequire(id);
/** The compiled package main: the installed project's, else the build this runner is part of, or dist/ (`npm run build`). */
export const packageMainPath = (): string =>
  installedProject
    ? nodeRequire.resolve('pulumi-offline-join')
    : __filename.endsWith('.js')
      ? path.resolve(__dirname, '..', '..', 'provider', 'index.js')
      : path.join(repoRoot, 'dist', 'provider', 'index.js');

export interface CheckFailure {
  property: string;
  reason: string;
}

export interface DiffAnswer {
  changes: 'none' | 'some' | 'unknown';
  replaces: string[];
  deleteBeforeReplace: boolean;
}

export class RpcError extends Error {
  constructor(
    readonly method: string,
    readonly details: string,
  ) {
    super(`${method}: ${details}`);
  }
}

const changesNames: Record<number, DiffAnswer['changes']> = { 0: 'unknown', 1: 'none', 2: 'some' };

/** Pulumi's marker for a secret value in a Struct ({ <sig>: <secret sig>, value }). */
const SIG_KEY = '4dabf18193072939515e22adb298388d';
const SECRET_SIG = '1b47061264138c4ac30d75fd1eb44270';

const isSecretValue = (v: unknown): v is { value: unknown } =>
  typeof v === 'object' && v !== null && !Array.isArray(v) && (v as Record<string, unknown>)[SIG_KEY] === SECRET_SIG;

/** The values with every secret marker removed, as the engine sends them to a provider that
 *  answered Configure with acceptSecrets=false (the dynamic-provider host does). */
export function stripSecrets(v: unknown): unknown {
  if (isSecretValue(v)) return stripSecrets(v.value);
  if (Array.isArray(v)) return v.map(stripSecrets);
  if (typeof v === 'object' && v !== null) return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, stripSecrets(x)]));
  return v;
}

/** The top-level properties that hold a secret (the engine marks the same outputs secret again). */
export function secretKeys(v: Props): string[] {
  const has = (x: unknown): boolean =>
    isSecretValue(x) || (Array.isArray(x) ? x.some(has) : typeof x === 'object' && x !== null ? Object.values(x).some(has) : false);
  return Object.keys(v).filter((k) => has(v[k]));
}

/** A running dynamic-provider host and a client for it. */
export class ProviderHost {
  private readonly client: any;
  /** What the host answered to Configure; until then the engine assumes it accepts them. */
  acceptsSecrets = true;
  /** What the host wrote to stderr (provider errors are logged there). */
  stderr = '';

  constructor(
    readonly process: ChildProcess,
    port: number,
    readonly type: string,
  ) {
    this.client = new provrpc.ResourceProviderClient(`127.0.0.1:${port}`, grpc.credentials.createInsecure());
  }

  urn(name: string): string {
    return `urn:pulumi:test::odj::${this.type}::${name}`;
  }

  private call<T>(method: string, req: unknown): Promise<T> {
    return new Promise((resolve, reject) => {
      this.client[method](req, (err: any, resp: T) => (err ? reject(new RpcError(method, err.details ?? String(err.message))) : resolve(resp)));
    });
  }

  /** Properties as the engine sends them: secrets kept only when the host accepts them. */
  private struct(v: Props): unknown {
    return structproto.Struct.fromJavaScript(this.acceptsSecrets ? v : (stripSecrets(v) as Props));
  }

  async configure(config: Record<string, string>): Promise<void> {
    const req = new provproto.ConfigureRequest();
    req.setArgs(this.struct(config));
    req.setAcceptsecrets(true);
    req.setAcceptresources(true);
    const resp = await this.call<any>('configure', req);
    this.acceptsSecrets = resp.getAcceptsecrets();
  }

  async check(name: string, olds: Props, news: Props): Promise<{ inputs: Props; failures: CheckFailure[] }> {
    const req = new provproto.CheckRequest();
    req.setUrn(this.urn(name));
    req.setName(name);
    req.setType(this.type);
    req.setOlds(this.struct(olds));
    req.setNews(this.struct(news));
    const resp = await this.call<any>('check', req);
    return {
      inputs: resp.getInputs().toJavaScript(),
      failures: resp.getFailuresList().map((f: any) => ({ property: f.getProperty(), reason: f.getReason() })),
    };
  }

  async diff(name: string, id: string, olds: Props, news: Props): Promise<DiffAnswer> {
    const req = new provproto.DiffRequest();
    req.setId(id);
    req.setUrn(this.urn(name));
    req.setOlds(this.struct(olds));
    req.setNews(this.struct(news));
    const resp = await this.call<any>('diff', req);
    return { changes: changesNames[resp.getChanges()] ?? 'unknown', replaces: resp.getReplacesList(), deleteBeforeReplace: resp.getDeletebeforereplace() };
  }

  async create(name: string, props: Props): Promise<{ id: string; props: Props }> {
    const req = new provproto.CreateRequest();
    req.setUrn(this.urn(name));
    req.setProperties(this.struct(props));
    const resp = await this.call<any>('create', req);
    return { id: resp.getId(), props: resp.getProperties().toJavaScript() };
  }

  /** Refresh passes the stored outputs; an import passes only the program's inputs. */
  async read(name: string, id: string, props: Props, inputs?: Props): Promise<{ id: string; props: Props }> {
    const req = new provproto.ReadRequest();
    req.setId(id);
    req.setUrn(this.urn(name));
    req.setProperties(this.struct(props));
    if (inputs) req.setInputs(this.struct(inputs));
    const resp = await this.call<any>('read', req);
    return { id: resp.getId(), props: resp.getProperties()?.toJavaScript() ?? {} };
  }

  async update(name: string, id: string, olds: Props, news: Props): Promise<Props> {
    const req = new provproto.UpdateRequest();
    req.setId(id);
    req.setUrn(this.urn(name));
    req.setOlds(this.struct(olds));
    req.setNews(this.struct(news));
    const resp = await this.call<any>('update', req);
    return resp.getProperties().toJavaScript();
  }

  async delete(name: string, id: string, props: Props): Promise<void> {
    const req = new provproto.DeleteRequest();
    req.setId(id);
    req.setUrn(this.urn(name));
    req.setProperties(this.struct(props));
    await this.call('delete', req);
  }

  stop(): void {
    this.client.close();
    if (this.process.exitCode === null) this.process.kill('SIGTERM');
  }
}

export interface HostOptions {
  /** The engine runs plugins in the program's directory. */
  cwd: string;
  /** Environment of the host; default: this process's, without ODJ_* variables. */
  env?: NodeJS.ProcessEnv;
  type?: string;
}

/** Starts the SDK's dynamic-provider plugin as the engine does: `node <sdk>/cmd/dynamic-provider
 *  <engine address>`, then reads the port it prints. */
export async function startHost(opts: HostOptions): Promise<ProviderHost> {
  const entry = pulumiRequire.resolve('./cmd/dynamic-provider/index.js');
  const env = opts.env ?? Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('ODJ_')));
  // The host never dials the engine address back for dynamic resources; a closed port is enough.
  const child = spawn(process.execPath, [entry, '127.0.0.1:1'], { cwd: opts.cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const port = await new Promise<number>((resolve, reject) => {
    let out = '';
    const onData = (d: Buffer) => {
      out += d;
      const m = /^(\d+)\s*$/m.exec(out);
      if (m) {
        child.stdout!.off('data', onData);
        resolve(Number(m[1]));
      }
    };
    child.stdout!.on('data', onData);
    child.once('exit', (code) => reject(new Error(`dynamic-provider host exited (${code}) before listening: ${stderr.slice(0, 2000)}`)));
  });
  const host = new ProviderHost(child, port, opts.type ?? 'pulumi-nodejs:dynamic/odj:OfflineJoinPackage');
  child.stderr!.on('data', (d) => (host.stderr += d));
  return host;
}

// ---------------------------------------------------------------------------------------------

export interface RegisteredResource {
  type: string;
  name: string;
  /** The inputs as the monitor received them (secrets unwrapped, `__provider` included). */
  inputs: Props;
  /** The raw RegisterResource object: secrets still wrapped, as the engine would store them. */
  rawInputs: Props;
  additionalSecretOutputs: string[];
  id?: string;
  outputs?: Props;
}

export interface RunOptions {
  /** Stack config for the program, `project:key` → value. */
  config: Record<string, string>;
  /** Config keys that are secret. */
  secretKeys?: string[];
  project: string;
  stack?: string;
  /** true: like `pulumi preview` (Check only, outputs unknown) */
  preview: boolean;
  /** The host that performs dynamic resources; required unless preview. */
  host?: ProviderHost;
  /** Where `pulumi-offline-join` resolves (default: this repository's package main). */
  packageMain?: string;
}

export interface ProgramRun {
  resources: RegisteredResource[];
  /** The program's exports, each resolved: value and whether Pulumi marks it secret. */
  exports: Record<string, { value: unknown; secret: boolean; known: boolean }>;
}

let hooksInstalled = false;

/** Compiles the provider and this runner with tsc into `outDir` (inside the repository, so that
 *  node_modules resolve); type errors elsewhere do not stop the emit. Returns the package main. */
export function buildInto(outDir: string): string {
  const tsc = nodeRequire.resolve('typescript/bin/tsc');
  const r = spawnSync(process.execPath, [tsc, '-p', path.join(repoRoot, 'examples', 'runner', 'tsconfig.json'), '--outDir', outDir], { encoding: 'utf8' });
  const main = path.join(outDir, 'provider', 'index.js');
  if (!existsSync(main) || r.error) throw new Error(`tsc produced no ${main}: ${r.stdout}${r.stderr}`);
  return main;
}

/** Loads `.ts` like ts-node does (transpile only) and, outside an installed project, resolves
 *  `pulumi-offline-join` to this repository's build, as `npm install` of the package would. */
function installHooks(packageMain: string): void {
  if (hooksInstalled) return;
  hooksInstalled = true;
  const Module = nodeRequire('node:module') as any;
  const ts = nodeRequire('typescript') as typeof import('typescript');
  const fs = nodeRequire('node:fs') as typeof import('node:fs');
  const origResolve = Module._resolveFilename;
  Module._resolveFilename = function (request: string, ...rest: unknown[]) {
    // An installed project resolves the package itself, through its package.json `exports`.
    if (request === 'pulumi-offline-join' && !installedProject) return packageMain;
    return origResolve.call(this, request, ...rest);
  };
  Module._extensions['.ts'] = (module: any, filename: string) => {
    const out = ts.transpileModule(fs.readFileSync(filename, 'utf8'), {
      compilerOptions: { module: ts.ModuleKind.CommonJS, target: ts.ScriptTarget.ES2022, esModuleInterop: true },
      fileName: filename,
    });
    module._compile(out.outputText, filename);
  };
}

/** Runs a Pulumi program (a file, or a function that declares resources and returns the exports)
 *  under the SDK's mock monitor, with `host` as the engine's provider. */
export async function runProgram(program: string | (() => Record<string, unknown>), opts: RunOptions): Promise<ProgramRun> {
  installHooks(opts.packageMain ?? packageMainPath());
  const pulumi = nodeRequire('@pulumi/pulumi') as typeof import('@pulumi/pulumi');
  const settings = pulumiRequire('./runtime/settings') as any;
  const config = pulumiRequire('./runtime/config') as any;
  config.setAllConfig(opts.config, opts.secretKeys ?? []);
  const resources: RegisteredResource[] = [];
  const pending: Array<{ req: any }> = [];

  await pulumi.runtime.setMocks(
    {
      newResource: async (args) => {
        const seen = pending.shift();
        const r: RegisteredResource = {
          type: args.type,
          name: args.name,
          inputs: args.inputs,
          rawInputs: seen ? seen.req.getObject().toJavaScript() : {},
          additionalSecretOutputs: seen ? seen.req.getAdditionalsecretoutputsList() : [],
        };
        resources.push(r);
        if (!args.type.startsWith('pulumi-nodejs:dynamic')) return { id: `${args.name}-id`, state: args.inputs };
        if (opts.preview) {
          if (opts.host) await checked(opts.host, args.name, args.inputs);
          return { id: undefined, state: {} };
        }
        if (!opts.host) throw new Error('runProgram: a host is needed to create dynamic resources');
        const inputs = await checked(opts.host, args.name, args.inputs);
        const created = await opts.host.create(args.name, inputs);
        r.id = created.id;
        r.outputs = created.props;
        // The engine marks these outputs secret whatever the provider says.
        const state: Record<string, unknown> = { ...created.props };
        // So does it for outputs whose inputs were secret, when it stripped them for the host.
        const secretOuts = [...r.additionalSecretOutputs, ...secretKeys(r.rawInputs)];
        for (const k of secretOuts) if (k in state) state[k] = pulumi.secret(state[k]);
        return { id: created.id, state };
      },
      call: () => ({}),
    },
    opts.project,
    opts.stack ?? 'dev',
    opts.preview,
  );
  // The mock monitor hides the raw request (secret markers, additionalSecretOutputs); keep it.
  const monitor = settings.getMonitor();
  const register = monitor.registerResource.bind(monitor);
  monitor.registerResource = (req: any, cb: unknown) => {
    pending.push({ req });
    return register(req, cb);
  };

  let exported: Record<string, unknown>;
  if (typeof program === 'string') {
    const file = path.resolve(program);
    delete nodeRequire.cache[file]; // a program runs once per require; run it afresh each time
    exported = nodeRequire(file) as Record<string, unknown>;
  } else {
    exported = program();
  }
  // As the language host does before it reports the program done: every registration finished.
  await settings.waitForRPCs();
  const outputs: ProgramRun['exports'] = {};
  for (const [k, v] of Object.entries(exported)) {
    const o = pulumi.output(v) as unknown as import('@pulumi/pulumi').Output<unknown>;
    const known = await (o as unknown as { isKnown: Promise<boolean> }).isKnown;
    const secret = await pulumi.isSecret(o);
    const value = known ? await new Promise((resolve) => o.apply((x) => resolve(x))) : undefined;
    outputs[k] = { value, secret, known };
  }
  return { resources, exports: outputs };
}

async function checked(host: ProviderHost, name: string, inputs: Props): Promise<Props> {
  const c = await host.check(name, {}, inputs);
  if (c.failures.length > 0) {
    throw new Error(`check failed: ${c.failures.map((f) => `${f.property}: ${f.reason}`).join('; ')}`);
  }
  return c.inputs;
}
