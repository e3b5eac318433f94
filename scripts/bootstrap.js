#!/usr/bin/env node
// The set-up behind `npm test`, `npm run example` and `npm run bench` (their npm pre-scripts) and
// .ci/run, so that a fresh clone needs no other command. Runs under whatever Node is on PATH
// (Debian's Node 18/20 too), so it uses nothing but Node's stdlib and old syntax.
//
//   node scripts/bootstrap.js [--dc]
//
// 1. Node >= 22. When the running Node is older, Node 22 comes from the npm registry's
//    node-<platform>-<arch>@22 package into $ODJ_NODE_PREFIX (default ~/.cache/odj-node22) and is
//    linked as node_modules/.bin/node. npm puts node_modules/.bin first on the PATH of every script
//    it runs, so the script this pre-script belongs to, the npm scripts it runs and everything they
//    start (tsc, vitest and its workers, npx) run under Node 22. A pre-script cannot re-run its own
//    script instead: npm would run the main script a second time under the old Node afterwards.
// 2. `npm ci` when node_modules is missing or older than package-lock.json.
// 3. With --dc: Debian's packages for the disposable DC (scripts/testdc.sh install), unless
//    ODJ_TESTDC_ENV names a DC that already runs.
// Under Node >= 22 with fresh dependencies (and the DC's packages present) it only checks.
'use strict';
var childProcess = require('child_process');
var fs = require('fs');
var os = require('os');
var path = require('path');

var MIN_MAJOR = 22;
var root = path.resolve(__dirname, '..');
var withDc = process.argv.indexOf('--dc') !== -1;

function say(msg) {
  process.stderr.write('bootstrap: ' + msg + '\n');
}

function die(msg) {
  say(msg);
  process.exit(1);
}

function major(version) {
  return Number(String(version).replace(/^v/, '').split('.')[0]);
}

/** Runs a command with the terminal's output; dies naming it when it fails. */
function run(cmd, args, opts) {
  var r = childProcess.spawnSync(cmd, args, Object.assign({ stdio: ['ignore', 'inherit', 'inherit'], cwd: root }, opts || {}));
  if (r.error) die(cmd + ' could not start: ' + r.error.message);
  if (r.status !== 0) die(path.basename(cmd) + ' ' + args.join(' ') + ' failed (' + (r.status === null ? r.signal : 'exit ' + r.status) + ')');
}

/** npm itself, run by `node`: the npm that runs this script when there is one, else the one on PATH. */
function npm(node, args, env) {
  var cli = process.env.npm_execpath;
  if (cli && /\.c?js$/.test(cli) && fs.existsSync(cli)) return run(node, [cli].concat(args), { env: env });
  return run(process.platform === 'win32' ? 'npm.cmd' : 'npm', args, { env: env });
}

function envWithNodeFirst(nodeDir) {
  var env = Object.assign({}, process.env);
  env.PATH = nodeDir + path.delimiter + (process.env.PATH || '');
  return env;
}

function nodeVersionOf(file) {
  var r = childProcess.spawnSync(file, ['--version'], { encoding: 'utf8' });
  return r.status === 0 ? String(r.stdout).trim() : '';
}

/** Node 22's executable from the user's cache, installed there first when missing. */
function node22() {
  if (process.platform === 'win32') {
    die('Node ' + process.versions.node + ' is too old (>= ' + MIN_MAJOR + ' needed); on Windows install Node ' + MIN_MAJOR + ' and put it first on PATH');
  }
  var prefix = process.env.ODJ_NODE_PREFIX || path.join(os.homedir(), '.cache', 'odj-node22');
  var pkg = 'node-' + process.platform + '-' + process.arch;
  var exe = path.join(prefix, 'node_modules', pkg, 'bin', 'node');
  if (major(nodeVersionOf(exe)) !== MIN_MAJOR) {
    say('Node ' + process.versions.node + ' is older than ' + MIN_MAJOR + ': installing ' + pkg + '@' + MIN_MAJOR + ' from the npm registry into ' + prefix);
    npm(process.execPath, ['install', '--prefix', prefix, '--no-audit', '--no-fund', '--loglevel=error', pkg + '@' + MIN_MAJOR], process.env);
    if (major(nodeVersionOf(exe)) !== MIN_MAJOR) die(exe + ' is not Node ' + MIN_MAJOR + ' after installing ' + pkg + '@' + MIN_MAJOR);
  }
  return exe;
}

var binDir = path.join(root, 'node_modules', '.bin');
var link = path.join(binDir, 'node');

/** The Node 22 that node_modules/.bin/node links to, when it is our link and works. */
function linkedNode() {
  try {
    var target = fs.readlinkSync(link);
    return major(nodeVersionOf(link)) >= MIN_MAJOR ? target : '';
  } catch (e) {
    return '';
  }
}

function linkNode(exe) {
  if (linkedNode() === exe) return;
  fs.mkdirSync(binDir, { recursive: true });
  try {
    fs.unlinkSync(link);
  } catch (e) {
    if (e.code !== 'ENOENT') throw e;
  }
  fs.symlinkSync(exe, link);
  say('npm scripts here run under Node ' + nodeVersionOf(exe).replace(/^v/, '') + ': ' + path.relative(root, link) + ' -> ' + exe);
}

function mtime(file) {
  try {
    return fs.statSync(file).mtimeMs;
  } catch (e) {
    return -1;
  }
}

/** npm ci when node_modules is missing or older than package-lock.json (npm writes
 *  node_modules/.package-lock.json at the end of every install). */
function ensureDependencies(node) {
  var installed = mtime(path.join(root, 'node_modules', '.package-lock.json'));
  var wanted = mtime(path.join(root, 'package-lock.json'));
  if (installed >= 0 && installed >= wanted) return;
  say(installed < 0 ? 'node_modules is missing: npm ci' : 'package-lock.json is newer than node_modules: npm ci');
  npm(node, ['ci', '--no-audit', '--no-fund'], envWithNodeFirst(path.dirname(node)));
}

function main() {
  var old = major(process.versions.node) < MIN_MAJOR;
  // Our link from an earlier run already makes `node` here Node 22; npm ci would remove it.
  var linked = old ? '' : linkedNode();
  var node = old ? node22() : process.execPath;
  ensureDependencies(node);
  if (old || linked) linkNode(old ? node : linked);
  if (withDc && !process.env.ODJ_TESTDC_ENV) run('bash', [path.join(root, 'scripts', 'testdc.sh'), 'install']);
}

main();
