import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { parseCommandLine, UsageError, type CommandLine, type FlagTable, type Positionals } from './flags.ts';
import {
  AGENT_COMMAND_FLAGS,
  CONTROLLER_MANAGER_FLAGS,
  IMAGE_SOCKET_FLAGS,
  SERVER_FLAGS,
  SIM_NODES_FLAGS,
  WHY_PENDING_FLAGS,
} from './flag-tables.ts';

const FILES: Positionals = { name: 'FILE.tar', min: 1, max: Infinity };
const POD: Positionals = { name: 'POD', min: 1, max: 1 };

/** parses with an environment of the test's own, expecting flags (not a request for help) */
function parse<T extends FlagTable>(
  argv: string[],
  table: T,
  args?: Positionals,
  env: Record<string, string> = {},
): CommandLine<T> {
  const line = parseCommandLine(argv, table, args, env);
  if (line.help) assert.fail(`${argv.join(' ')} asks for help`);
  return line;
}

function usageError(argv: string[], table: FlagTable, args?: Positionals, env: Record<string, string> = {}): string {
  try {
    parseCommandLine(argv, table, args, env);
  } catch (e) {
    assert.ok(e instanceof UsageError, `${argv.join(' ')}: ${String(e)}`);
    return e.message;
  }
  assert.fail(`${argv.join(' ')} parsed`);
}

describe('flag parsing', () => {
  it('reads a value in either form, before or after the positional arguments', () => {
    const forms = [
      ['FILE', '--data-dir', 'D'],
      ['FILE', '--data-dir=D'],
      ['--data-dir', 'D', 'FILE'],
      ['--data-dir=D', 'FILE'],
    ];
    for (const argv of forms) {
      const line = parse(argv, IMAGE_SOCKET_FLAGS, FILES);
      assert.equal(line.flags['data-dir'], 'D', argv.join(' '));
      assert.deepEqual(line.args, ['FILE'], argv.join(' '));
    }
    const many = parse(['a.tar', '--cri-socket', '/run/c.sock', 'b.tar', '--', '--c.tar'], IMAGE_SOCKET_FLAGS, FILES);
    assert.deepEqual(many.args, ['a.tar', 'b.tar', '--c.tar']);
    assert.equal(many.flags['cri-socket'], '/run/c.sock');
  });

  it('takes a short form and a value that starts with a single dash', () => {
    for (const argv of [
      ['-n', 'shop', 'web'],
      ['web', '--namespace', 'shop'],
      ['--namespace=shop', 'web'],
    ]) {
      const line = parse(argv, WHY_PENDING_FLAGS, POD);
      assert.equal(line.flags.namespace, 'shop', argv.join(' '));
      assert.deepEqual(line.args, ['web']);
    }
    assert.equal(parse(['web'], WHY_PENDING_FLAGS, POD).flags.namespace, 'default');
    const cm = parse(['--controllers', '-deployment'], CONTROLLER_MANAGER_FLAGS);
    assert.deepEqual(cm.flags.controllers, ['-deployment']);
  });

  it('fills absent flags from the environment, then the default; a flag wins over both', () => {
    assert.equal(parse([], SERVER_FLAGS).flags.port, 6443);
    assert.equal(parse([], SERVER_FLAGS, undefined, { SKIFF_API_PORT: '7443' }).flags.port, 7443);
    assert.equal(parse(['--port', '8443'], SERVER_FLAGS, undefined, { SKIFF_API_PORT: '7443' }).flags.port, 8443);
    // an empty variable is as good as none
    assert.equal(parse([], SERVER_FLAGS, undefined, { SKIFF_API_PORT: '' }).flags.port, 6443);
    const env = { SKIFF_DATA_DIR: '/srv/skiff', SKIFF_STORE: 'etcd://10.0.0.5:2379', SKIFF_QUEUE: 'redis://q:6379' };
    const server = parse([], SERVER_FLAGS, undefined, env).flags;
    assert.equal(server['data-dir'], '/srv/skiff');
    assert.equal(server.store, 'etcd://10.0.0.5:2379');
    assert.equal(server.queue, 'redis://q:6379');
    assert.equal(parse([], AGENT_COMMAND_FLAGS, undefined, { SKIFF_TOKEN: 't0k3n' }).flags.token, 't0k3n');
    assert.equal(parse([], AGENT_COMMAND_FLAGS).flags['data-dir'], '/var/lib/skiff-agent');
    assert.equal(parse([], IMAGE_SOCKET_FLAGS, undefined, {}).flags['data-dir'], '');
  });

  it('leaves KUBECONFIG to the client, which takes the first existing file of its list', () => {
    const f = parse([], CONTROLLER_MANAGER_FLAGS, undefined, { KUBECONFIG: '/a:/b' }).flags;
    assert.equal(f.kubeconfig, '');
    assert.equal(parse(['--kubeconfig', '/c'], CONTROLLER_MANAGER_FLAGS).flags.kubeconfig, '/c');
  });

  it('reads booleans bare, with =true or =false, and as --no-name when on by default', () => {
    assert.equal(parse([], SERVER_FLAGS).flags['disable-agent'], false);
    assert.equal(parse(['--disable-agent'], SERVER_FLAGS).flags['disable-agent'], true);
    assert.equal(parse(['--disable-agent=true'], SERVER_FLAGS).flags['disable-agent'], true);
    assert.equal(parse(['--disable-agent=false'], SERVER_FLAGS).flags['disable-agent'], false);
    assert.equal(parse([], CONTROLLER_MANAGER_FLAGS).flags['leader-elect'], true);
    assert.equal(parse(['--leader-elect=false'], CONTROLLER_MANAGER_FLAGS).flags['leader-elect'], false);
    assert.equal(parse(['--no-leader-elect'], CONTROLLER_MANAGER_FLAGS).flags['leader-elect'], false);
    assert.match(usageError(['--disable-agent=maybe'], SERVER_FLAGS), /--disable-agent: "maybe" is not true or false/);
    assert.match(usageError(['--no-disable-agent'], SERVER_FLAGS), /^unknown flag --no-disable-agent /);
    assert.equal(
      usageError(['--leader-elect', 'false'], CONTROLLER_MANAGER_FLAGS),
      'unexpected argument "false" (a boolean flag takes its value after "=": --leader-elect=false)',
    );
  });

  it('splits lists at commas and adds a repeated flag to the list, the first replacing the default', () => {
    assert.deepEqual(parse([], SERVER_FLAGS).flags.controllers, ['*']);
    assert.deepEqual(parse(['--controllers=*,-node-ipam'], SERVER_FLAGS).flags.controllers, ['*', '-node-ipam']);
    const f = parse(['--tls-san', 'a.example, 10.0.0.1', '--tls-san=b.example'], SERVER_FLAGS).flags;
    assert.deepEqual(f['tls-san'], ['a.example', '10.0.0.1', 'b.example']);
    assert.deepEqual(parse([], SERVER_FLAGS).flags['cluster-dns'], ['169.254.20.10']);
    assert.deepEqual(parse(['--cluster-dns='], SERVER_FLAGS).flags['cluster-dns'], []);
    assert.deepEqual(parse(['--node-labels', 'a=1,b=2', '--node-labels', 'c='], SERVER_FLAGS).flags['node-labels'], [
      'a=1',
      'b=2',
      'c=',
    ]);
  });

  it('checks numbers, and names the variable when the environment gave the value', () => {
    assert.equal(parse(['--count', '5', '--pods=20'], SIM_NODES_FLAGS).flags.count, 5);
    assert.equal(parse(['--lease-renew-interval', '0.5'], SIM_NODES_FLAGS).flags['lease-renew-interval'], 0.5);
    assert.equal(
      usageError(['--port', '70000'], SERVER_FLAGS),
      'flag --port: "70000" is not a port number (0 to 65535)',
    );
    assert.equal(usageError(['--count=0'], SIM_NODES_FLAGS), 'flag --count: "0" is not a positive whole number');
    assert.equal(
      usageError(['--node-monitor-grace-period', 'soon'], SERVER_FLAGS),
      'flag --node-monitor-grace-period: "soon" is not a positive number of seconds',
    );
    assert.equal(
      usageError([], SERVER_FLAGS, undefined, { SKIFF_API_PORT: 'https' }),
      '$SKIFF_API_PORT: "https" is not a port number (0 to 65535)',
    );
  });

  it('names the flag that needs a value', () => {
    assert.equal(usageError(['FILE', '--data-dir'], IMAGE_SOCKET_FLAGS, FILES), 'flag --data-dir needs a value (DIR)');
    assert.equal(usageError(['web', '-n'], WHY_PENDING_FLAGS, POD), 'flag -n needs a value (NAMESPACE)');
    // the next flag is not taken for the value
    assert.equal(
      usageError(['--data-dir', '--port', '1'], SERVER_FLAGS),
      'flag --data-dir needs a value (DIR); to give one that starts with "-" write --data-dir=--port',
    );
    assert.equal(parse(['--data-dir=--port'], SERVER_FLAGS).flags['data-dir'], '--port');
  });

  it('names the known flags for an unknown one, the nearest spellings first', () => {
    const message = usageError(['--prot', '1'], SERVER_FLAGS);
    assert.match(message, /^unknown flag --prot \(known flags: --port, --data-dir, /);
    for (const name of Object.keys(SERVER_FLAGS)) assert.ok(message.includes(`--${name}`), name);
    assert.match(usageError(['-x'], SERVER_FLAGS), /^unknown flag -x \(known flags: /);
  });

  it('checks the number of positional arguments', () => {
    assert.equal(usageError(['extra'], SERVER_FLAGS), 'unexpected argument "extra"');
    assert.equal(usageError(['--data-dir', 'D'], IMAGE_SOCKET_FLAGS, FILES), 'needs a FILE.tar');
    assert.equal(usageError(['a', 'b'], WHY_PENDING_FLAGS, POD), 'unexpected argument "b"');
  });

  it('answers --help and -h anywhere before --, even beside a flag it does not know', () => {
    for (const argv of [['--help'], ['-h'], ['FILE', '--data-dir', 'D', '--help'], ['--nope', '-h']])
      assert.deepEqual(parseCommandLine(argv, IMAGE_SOCKET_FLAGS, FILES, {}), { help: true }, argv.join(' '));
    assert.deepEqual(parse(['--', '--help'], IMAGE_SOCKET_FLAGS, FILES).args, ['--help']);
  });
});
