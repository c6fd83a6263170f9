import { readFileSync } from 'node:fs';
import { defineCommand, str } from '../core/command.js';
import { EXIT, UsageError, UserError } from '../core/errors.js';
import { loadVersions, parseMinor, byMinor, CONFIG_MINORS } from '../config/versions.js';
import { resolveOptions, MODES } from '../config/options.js';
import { renderKubeadm } from '../config/kubeadm.js';
import { renderKind } from '../config/kind.js';
import { checkConfigText } from '../config/validate.js';
import { throwIfProblems } from '../config/problems.js';
import { SCHEDULER_NAMES } from '../steps/schedulers.js';

const WHAT = ['kubeadm', 'kind', 'validate', 'versions'] as const;

export default defineCommand({
  name: 'config',
  summary: 'print generated configs (kubeadm, kind) for a Kubernetes version and mode',
  usage:
    'proxylab config <kubeadm|kind|validate FILE|versions> [--k8s V] [--mode M] [--scheduler S] [--nodes N]',
  details: `proxylab config kubeadm --k8s 1.33 --mode ipvs --scheduler rr
    kubeadm config for \`kubeadm init --config\` (kubeadm.k8s.io/v1beta4 from 1.31, v1beta3 before)
proxylab config kind --k8s 1.33 --mode ipvs --nodes 3
    the kind cluster config \`proxylab up\` uses (kubeProxyMode, KubeProxyConfiguration patch)
proxylab config validate FILE [--k8s V]
    check a kubeadm / KubeProxyConfiguration / kind file strictly: unknown keys, wrong
    apiVersion or kind, bad mode, scheduler or duration; every problem is listed, exit 2
proxylab config versions [--json]
    the pinned kind, kubectl and node images (configs/versions.yaml)

Modes: ${MODES.join(', ')} (nftables needs Kubernetes ≥ 1.31). Schedulers: ${SCHEDULER_NAMES.join(' ')}.
Kubernetes minors rendered: 1.${CONFIG_MINORS.min} to 1.${CONFIG_MINORS.max}.`,
  options: {
    k8s: {
      type: 'string',
      arg: 'MINOR',
      description: 'Kubernetes minor version, e.g. 1.33 (default: configs/versions.yaml default)',
    },
    mode: {
      type: 'string',
      arg: 'MODE',
      description:
        'kube-proxy mode: iptables, ipvs or nftables (default: ipvs for kubeadm, iptables for kind)',
    },
    scheduler: {
      type: 'string',
      arg: 'S',
      description: 'IPVS scheduler (with --mode ipvs), e.g. rr',
    },
    nodes: {
      type: 'string',
      arg: 'N',
      description: 'nodes in the kind cluster, control plane included (default 3)',
    },
  },
  positionals: { min: 1, max: 2 },
  json: true,
  async run(ctx, args) {
    const [what, file] = args.positionals as [string, string | undefined];
    if (!(WHAT as readonly string[]).includes(what))
      throw new UsageError(`unknown config "${what}"`, `use one of: ${WHAT.join(', ')}`);
    if (what !== 'validate' && file !== undefined)
      throw new UsageError(
        `unexpected argument "${file}"`,
        'only `proxylab config validate FILE` takes a file',
      );
    const table = loadVersions(ctx.env);
    const raw = {
      k8s: str(args, 'k8s'),
      mode: str(args, 'mode'),
      scheduler: str(args, 'scheduler'),
      nodes: str(args, 'nodes'),
    };
    if (what === 'versions') {
      if (ctx.json) ctx.io.out(JSON.stringify(table, null, 2));
      else {
        ctx.io.out(
          `kind     ${table.kind.version}\nkubectl  ${table.kubectl.version}\nnode images (kind ${table.kind.version}, pinned by digest; default ${table.default}):`,
        );
        for (const k of Object.keys(table.images).sort(byMinor).reverse())
          ctx.io.out(`  ${k.padEnd(5)} ${table.images[k]}`);
      }
      return EXIT.ok;
    }
    if (what === 'validate') {
      if (!file)
        throw new UsageError('missing FILE', 'usage: proxylab config validate FILE [--k8s V]');
      let text: string;
      try {
        text = file === '-' ? readFileSync(0, 'utf8') : readFileSync(file, 'utf8');
      } catch (e) {
        throw new UserError(
          `cannot read ${file}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`,
          'check the path',
          EXIT.usage,
        );
      }
      let minor: number | undefined;
      if (raw.k8s !== undefined) {
        minor = parseMinor(raw.k8s);
        if (minor === undefined)
          throw new UsageError(
            `--k8s "${raw.k8s}" is not a Kubernetes version`,
            'use a minor like 1.33',
          );
      }
      const { documents, problems } = checkConfigText(text, minor);
      throwIfProblems(
        `${file} is not valid`,
        problems,
        'fix every item above; `proxylab config kubeadm|kind` prints a valid example',
      );
      if (ctx.json) ctx.io.out(JSON.stringify({ ok: true, file, documents }, null, 2));
      else
        ctx.io.out(
          `✔ ${file}: ${documents.map((d) => `${d.kind} (${d.apiVersion})`).join(', ')}${minor !== undefined ? ` — valid for Kubernetes 1.${minor}` : ''}`,
        );
      return EXIT.ok;
    }
    const { options, warnings } = resolveOptions(raw, {
      table,
      requireImage: false,
      defaultMode: what === 'kubeadm' ? 'ipvs' : 'iptables',
    });
    for (const w of warnings) ctx.io.warn(`⚠ ${w}`);
    const text = what === 'kubeadm' ? renderKubeadm(options, table) : renderKind(options);
    if (ctx.json) {
      const { parseAllDocuments } = await import('yaml');
      ctx.io.out(
        JSON.stringify(
          parseAllDocuments(text).map((d) => d.toJS()),
          null,
          2,
        ),
      );
    } else ctx.io.out(text);
    return EXIT.ok;
  },
});
