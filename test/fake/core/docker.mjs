// Core fake `docker`: engine status, ps/inspect of kind node containers, exec into nodes.
import { readFileSync } from 'node:fs';

export const ENGINE_DOWN =
  'Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?';

export function dockerVersion(env) {
  return env.FAKE_DOCKER_VERSION ?? '28.2.2';
}

export function engineDown(env) {
  return env.FAKE_DOCKER_DOWN === '1' || env.FAKE_DOCKER_DOWN === 'true';
}

/** Every node container of every cluster, with its cluster. */
export function allNodes(state) {
  return Object.values(state.clusters).flatMap((c) =>
    c.nodes.map((n) => ({ cluster: c, node: n })),
  );
}

export function findNode(state, name) {
  return allNodes(state).find(
    ({ node }) => node.name === name || node.containerId.startsWith(name),
  );
}

function containerJson(cluster, n) {
  return {
    Id: n.containerId,
    Created: cluster.createdAt,
    Name: `/${n.name}`,
    State: {
      Status: n.running ? 'running' : 'exited',
      Running: n.running,
      Paused: false,
      Pid: n.running ? 4000 + n.ip.split('.').map(Number)[3] : 0,
      ExitCode: 0,
    },
    Image: `sha256:${n.containerId.slice(0, 64)}`,
    Config: {
      Hostname: n.name,
      Image: cluster.image,
      Labels: { 'io.x-k8s.kind.cluster': cluster.name, 'io.x-k8s.kind.role': n.role },
    },
    HostConfig: { Privileged: true },
    NetworkSettings: {
      Networks: {
        kind: {
          IPAddress: n.ip,
          Gateway: '172.18.0.1',
          IPPrefixLen: 16,
          MacAddress: `02:42:ac:12:00:0${n.ip.split('.')[3]}`,
        },
      },
      Ports:
        n.role === 'control-plane'
          ? { '6443/tcp': [{ HostIp: '127.0.0.1', HostPort: String(cluster.apiPort) }] }
          : {},
    },
  };
}

/** A small Go-template evaluator: {{.A.B}}, {{index .A "k"}}, {{json .A}}, literal text. */
export function goTemplate(tpl, data) {
  const get = (path, obj) =>
    path
      .split('.')
      .filter(Boolean)
      .reduce((o, k) => (o == null ? undefined : o[k]), obj);
  return tpl.replace(/\{\{\s*(.*?)\s*\}\}/g, (_, expr) => {
    let m;
    let v;
    if ((m = /^json\s+(\S+)$/.exec(expr)))
      return JSON.stringify(m[1] === '.' ? data : get(m[1], data));
    if ((m = /^index\s+(\S+)\s+"([^"]*)"$/.exec(expr))) v = get(m[1], data)?.[m[2]];
    else if (expr === '.') v = data;
    else if (expr.startsWith('.')) v = get(expr, data);
    else v = '';
    if (v === undefined || v === null) return '<no value>';
    return typeof v === 'object'
      ? `map[${Object.entries(v)
          .map(([k, x]) => `${k}:${typeof x === 'object' ? JSON.stringify(x) : x}`)
          .join(' ')}]`
      : String(v);
  });
}

function requireEngine(ctx) {
  if (engineDown(ctx.env)) ctx.fail(1, ENGINE_DOWN);
}

function psRows(ctx, args) {
  const all = args.includes('-a') || args.includes('--all');
  const filters = [];
  const fmtI = Math.max(
    args.indexOf('--format'),
    args.indexOf('-f') >= 0 && args[0] !== 'exec' ? args.indexOf('-f') : -1,
  );
  for (let i = 0; i < args.length; i++) {
    if (args[i] === '--filter') filters.push(args[i + 1] ?? '');
    else if (args[i]?.startsWith('--filter=')) filters.push(args[i].slice(9));
  }
  let format = fmtI >= 0 ? args[fmtI + 1] : undefined;
  const eq = args.find((a) => a.startsWith('--format='));
  if (eq) format = eq.slice(9);
  const rows = allNodes(ctx.state)
    .filter(({ node }) => all || node.running)
    .filter(({ cluster, node }) =>
      filters.every((f) => {
        const [k, v] = f.split('=', 2).concat(['']);
        if (k === 'label') {
          const [lk, lv] = f.slice(6).split('=', 2);
          const labels = { 'io.x-k8s.kind.cluster': cluster.name, 'io.x-k8s.kind.role': node.role };
          return lv === undefined ? lk in labels : labels[lk] === lv;
        }
        if (k === 'name') return node.name.includes(v);
        if (k === 'status') return (node.running ? 'running' : 'exited') === v;
        return true;
      }),
    );
  return { rows, format };
}

export const handlers = [
  {
    tool: 'docker',
    name: 'version',
    match: (c) => c.argv[0] === 'version' || c.argv[0] === '--version' || c.argv[0] === '-v',
    run(c) {
      const v = dockerVersion(c.env);
      if (c.argv[0] !== 'version') {
        c.out(`Docker version ${v}, build e6534b4\n`);
        return 0;
      }
      const fmt = c.argv.includes('--format')
        ? c.argv[c.argv.indexOf('--format') + 1]
        : c.argv.includes('-f')
          ? c.argv[c.argv.indexOf('-f') + 1]
          : undefined;
      const data = {
        Client: { Version: v, ApiVersion: '1.50', Os: 'linux', Arch: 'amd64' },
        Server: engineDown(c.env)
          ? null
          : { Version: v, ApiVersion: '1.50', Os: 'linux', Arch: 'amd64' },
      };
      if (fmt) {
        if (engineDown(c.env) && /Server/.test(fmt)) c.fail(1, ENGINE_DOWN);
        c.out(`${goTemplate(fmt, data)}\n`);
        return 0;
      }
      c.out(
        `Client:\n Version:           ${v}\n API version:       1.50\n Go version:        go1.24.3\n Git commit:        e6534b4\n Built:             Fri May 30 12:07:14 2025\n OS/Arch:           linux/amd64\n Context:           default\n`,
      );
      if (engineDown(c.env)) c.fail(1, ENGINE_DOWN);
      c.out(
        `\nServer: Docker Engine - Community\n Engine:\n  Version:          ${v}\n  API version:      1.50 (minimum version 1.24)\n  OS/Arch:          linux/amd64\n`,
      );
      return 0;
    },
  },
  {
    tool: 'docker',
    name: 'info',
    match: (c) => c.argv[0] === 'info' || (c.argv[0] === 'system' && c.argv[1] === 'info'),
    run(c) {
      const v = dockerVersion(c.env);
      const fmtI =
        c.argv.indexOf('--format') >= 0 ? c.argv.indexOf('--format') : c.argv.indexOf('-f');
      const running = allNodes(c.state).filter(({ node }) => node.running).length;
      const data = {
        ServerVersion: v,
        Containers: allNodes(c.state).length,
        ContainersRunning: running,
        OperatingSystem: 'Debian GNU/Linux 12 (bookworm)',
        CgroupVersion: '2',
        Driver: 'overlay2',
        NCPU: 2,
        MemTotal: 8 * 1024 ** 3,
      };
      if (fmtI >= 0) {
        if (engineDown(c.env)) c.fail(1, ENGINE_DOWN);
        c.out(`${goTemplate(c.argv[fmtI + 1] ?? '', data)}\n`);
        return 0;
      }
      c.out(
        `Client: Docker Engine - Community\n Version:    ${v}\n Context:    default\n Debug Mode: false\n\nServer:\n`,
      );
      if (engineDown(c.env)) c.fail(1, ENGINE_DOWN);
      c.out(
        ` Containers: ${data.Containers}\n  Running: ${running}\n  Paused: 0\n  Stopped: ${data.Containers - running}\n Server Version: ${v}\n Storage Driver: overlay2\n Cgroup Driver: systemd\n Cgroup Version: 2\n Operating System: ${data.OperatingSystem}\n CPUs: 2\n`,
      );
      return 0;
    },
  },
  {
    tool: 'docker',
    name: 'ps',
    match: (c) => c.argv[0] === 'ps' || (c.argv[0] === 'container' && c.argv[1] === 'ls'),
    run(c) {
      requireEngine(c);
      const args = c.argv[0] === 'ps' ? c.argv.slice(1) : c.argv.slice(2);
      const { rows, format } = psRows(c, args);
      if (args.includes('-q') || args.includes('--quiet')) {
        for (const { node } of rows) c.out(`${node.containerId.slice(0, 12)}\n`);
        return 0;
      }
      if (format) {
        for (const { cluster, node } of rows) {
          const data = {
            ID: node.containerId.slice(0, 12),
            Names: node.name,
            Image: cluster.image,
            Status: node.running ? 'Up 5 minutes' : 'Exited (0) 1 minute ago',
            State: node.running ? 'running' : 'exited',
            Labels: `io.x-k8s.kind.cluster=${cluster.name},io.x-k8s.kind.role=${node.role}`,
            Ports: node.role === 'control-plane' ? `127.0.0.1:${cluster.apiPort}->6443/tcp` : '',
          };
          c.out(
            `${format === 'json' || format === '{{json .}}' ? JSON.stringify(data) : goTemplate(format, data)}\n`,
          );
        }
        return 0;
      }
      const head = ['CONTAINER ID', 'IMAGE', 'COMMAND', 'CREATED', 'STATUS', 'PORTS', 'NAMES'];
      const lines = rows.map(({ cluster, node }) => [
        node.containerId.slice(0, 12),
        cluster.image.split('@')[0],
        '"/usr/local/bin/entr…"',
        '5 minutes ago',
        node.running ? 'Up 5 minutes' : 'Exited (0) 1 minute ago',
        node.role === 'control-plane' ? `127.0.0.1:${cluster.apiPort}->6443/tcp` : '',
        node.name,
      ]);
      const w = head.map((h, i) => Math.max(h.length, ...lines.map((l) => l[i].length)));
      for (const l of [head, ...lines])
        c.out(`${l.map((x, i) => (i === l.length - 1 ? x : x.padEnd(w[i] + 3))).join('')}\n`);
      return 0;
    },
  },
  {
    tool: 'docker',
    name: 'inspect',
    match: (c) => c.argv[0] === 'inspect' || (c.argv[0] === 'container' && c.argv[1] === 'inspect'),
    run(c) {
      requireEngine(c);
      const args = c.argv.slice(c.argv[0] === 'inspect' ? 1 : 2);
      let format;
      const names = [];
      for (let i = 0; i < args.length; i++) {
        if (args[i] === '--format' || args[i] === '-f') format = args[++i];
        else if (args[i].startsWith('--format=')) format = args[i].slice(9);
        else if (args[i] === '--type') i++;
        else names.push(args[i]);
      }
      const found = [];
      let missing;
      for (const n of names) {
        const hit = findNode(c.state, n);
        if (hit) found.push(containerJson(hit.cluster, hit.node));
        else missing = n;
      }
      if (format) for (const f of found) c.out(`${goTemplate(format, f)}\n`);
      else c.out(`${JSON.stringify(found, null, 4)}\n`);
      if (missing) c.fail(1, `Error: No such object: ${missing}`);
      return 0;
    },
  },
  {
    tool: 'docker',
    name: 'exec',
    match: (c) => c.argv[0] === 'exec' || (c.argv[0] === 'container' && c.argv[1] === 'exec'),
    run(c) {
      requireEngine(c);
      const args = c.argv.slice(c.argv[0] === 'exec' ? 1 : 2);
      let i = 0;
      const valueFlags = new Set([
        '-e',
        '--env',
        '-u',
        '--user',
        '-w',
        '--workdir',
        '--env-file',
        '--detach-keys',
      ]);
      while (i < args.length && args[i].startsWith('-')) {
        if (valueFlags.has(args[i])) i++;
        i++;
      }
      const name = args[i];
      const nodeArgv = args.slice(i + 1);
      if (!name || !nodeArgv.length)
        c.fail(1, '"docker exec" requires at least 2 arguments.\nSee \'docker exec --help\'.');
      const hit = findNode(c.state, name);
      if (!hit) c.fail(1, `Error response from daemon: No such container: ${name}`);
      if (!hit.node.running)
        c.fail(1, `Error response from daemon: container ${hit.node.containerId} is not running`);
      return c.inNode(hit.cluster, hit.node, nodeArgv);
    },
  },
  {
    tool: 'docker',
    name: 'rm',
    match: (c) => c.argv[0] === 'rm',
    run(c) {
      requireEngine(c);
      for (const n of c.argv.slice(1).filter((a) => !a.startsWith('-'))) {
        const hit = findNode(c.state, n);
        if (!hit) c.fail(1, `Error response from daemon: No such container: ${n}`);
        hit.cluster.nodes = hit.cluster.nodes.filter((x) => x !== hit.node);
        if (!hit.cluster.nodes.length) delete c.state.clusters[hit.cluster.name];
        c.out(`${n}\n`);
      }
      return 0;
    },
  },
  {
    tool: 'docker',
    name: 'network ls / image ls',
    match: (c) =>
      (c.argv[0] === 'network' && c.argv[1] === 'ls') ||
      c.argv[0] === 'images' ||
      (c.argv[0] === 'image' && c.argv[1] === 'ls'),
    run(c) {
      requireEngine(c);
      if (c.argv[0] === 'network')
        c.out(
          'NETWORK ID     NAME      DRIVER    SCOPE\n1c2d3e4f5a6b   bridge    bridge    local\n2a3b4c5d6e7f   host      host      local\n' +
            (Object.keys(c.state.clusters).length
              ? '3b4c5d6e7f8a   kind      bridge    local\n'
              : '') +
            '4c5d6e7f8a9b   none      null      local\n',
        );
      else c.out('REPOSITORY   TAG       IMAGE ID   CREATED   SIZE\n');
      return 0;
    },
  },
];

export function readFileOr(path, fallback) {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return fallback;
  }
}
