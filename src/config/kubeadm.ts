/**
 * kubeadm configuration for `kubeadm init --config`: the API version each Kubernetes accepts
 * (v1beta3 up to 1.35, removed in 1.36; v1beta4 since 1.31 — proxylab writes v1beta4 from
 * 1.31 on, v1beta3 before), a ClusterConfiguration and the KubeProxyConfiguration.
 */
import { stringify } from 'yaml';
import { isPlain, unknownKeys, type Plain, type Problem } from './problems.js';
import { kubeProxyDocument } from './kubeproxy.js';
import type { LabOptions } from './options.js';
import type { VersionsTable } from './versions.js';
import { IMAGE_RE } from './versions.js';

export const V1BETA4_SINCE = 31;
/** v1beta3 was removed in Kubernetes 1.36. */
export const V1BETA3_UNTIL = 35;

export function kubeadmApiVersion(minor: number): string {
  return minor >= V1BETA4_SINCE ? 'kubeadm.k8s.io/v1beta4' : 'kubeadm.k8s.io/v1beta3';
}

/** Which kubeadm API versions a Kubernetes minor accepts. */
export function acceptedKubeadmApis(minor: number): string[] {
  const out: string[] = [];
  if (minor <= V1BETA3_UNTIL) out.push('kubeadm.k8s.io/v1beta3');
  if (minor >= V1BETA4_SINCE) out.push('kubeadm.k8s.io/v1beta4');
  return out;
}

export const CLUSTER_CONFIGURATION_KEYS: Record<string, readonly string[]> = {
  'kubeadm.k8s.io/v1beta3': [
    'apiVersion',
    'kind',
    'etcd',
    'networking',
    'kubernetesVersion',
    'controlPlaneEndpoint',
    'apiServer',
    'controllerManager',
    'scheduler',
    'dns',
    'certificatesDir',
    'imageRepository',
    'featureGates',
    'clusterName',
  ],
  'kubeadm.k8s.io/v1beta4': [
    'apiVersion',
    'kind',
    'etcd',
    'networking',
    'kubernetesVersion',
    'controlPlaneEndpoint',
    'apiServer',
    'controllerManager',
    'scheduler',
    'dns',
    'proxy',
    'certificatesDir',
    'imageRepository',
    'featureGates',
    'clusterName',
    'encryptionAlgorithm',
    'certificateValidityPeriod',
    'caCertificateValidityPeriod',
  ],
};
export const INIT_CONFIGURATION_KEYS: Record<string, readonly string[]> = {
  'kubeadm.k8s.io/v1beta3': [
    'apiVersion',
    'kind',
    'bootstrapTokens',
    'nodeRegistration',
    'localAPIEndpoint',
    'certificateKey',
    'skipPhases',
    'patches',
  ],
  'kubeadm.k8s.io/v1beta4': [
    'apiVersion',
    'kind',
    'bootstrapTokens',
    'dryRun',
    'nodeRegistration',
    'localAPIEndpoint',
    'certificateKey',
    'skipPhases',
    'patches',
    'timeouts',
  ],
};
export const JOIN_CONFIGURATION_KEYS: Record<string, readonly string[]> = {
  'kubeadm.k8s.io/v1beta3': [
    'apiVersion',
    'kind',
    'caCertPath',
    'discovery',
    'nodeRegistration',
    'controlPlane',
    'skipPhases',
    'patches',
  ],
  'kubeadm.k8s.io/v1beta4': [
    'apiVersion',
    'kind',
    'caCertPath',
    'discovery',
    'dryRun',
    'nodeRegistration',
    'controlPlane',
    'skipPhases',
    'patches',
    'timeouts',
  ],
};
const NETWORKING_KEYS = ['serviceSubnet', 'podSubnet', 'dnsDomain'];

export function checkKubeadm(
  doc: Plain,
  at: string,
  minor: number | undefined,
  problems: Problem[],
): void {
  const api = String(doc.apiVersion);
  const kind = String(doc.kind);
  if (minor !== undefined && !acceptedKubeadmApis(minor).includes(api))
    problems.push({
      at: `${at}.apiVersion`,
      message: `Kubernetes 1.${minor} does not accept ${api}; use ${acceptedKubeadmApis(minor).join(' or ')}`,
    });
  const keys = (
    kind === 'ClusterConfiguration'
      ? CLUSTER_CONFIGURATION_KEYS
      : kind === 'InitConfiguration'
        ? INIT_CONFIGURATION_KEYS
        : JOIN_CONFIGURATION_KEYS
  )[api];
  if (keys) unknownKeys(doc, keys, at, problems);
  if (kind === 'ClusterConfiguration') {
    if (isPlain(doc.networking))
      unknownKeys(doc.networking, NETWORKING_KEYS, `${at}.networking`, problems);
    const kv = doc.kubernetesVersion;
    if (kv !== undefined) {
      const m = typeof kv === 'string' ? /^v?1\.(\d+)\.\d+$/.exec(kv) : null;
      if (!m)
        problems.push({
          at: `${at}.kubernetesVersion`,
          message: `"${String(kv)}" is not a version like v1.33.7`,
        });
      else if (minor !== undefined && Number(m[1]) !== minor)
        problems.push({
          at: `${at}.kubernetesVersion`,
          message: `is 1.${m[1]}, but the check is for 1.${minor}`,
        });
    }
  }
}

function patchVersion(table: VersionsTable, minor: number): string {
  const image = table.images[`1.${minor}`];
  const m = image ? IMAGE_RE.exec(image) : null;
  return m ? `v${m[1]}.${m[2]}.${m[3]}` : `v1.${minor}.0`;
}

export function kubeadmDocuments(o: LabOptions, table: VersionsTable): Plain[] {
  return [
    {
      apiVersion: kubeadmApiVersion(o.minor),
      kind: 'ClusterConfiguration',
      kubernetesVersion: patchVersion(table, o.minor),
      networking: { podSubnet: o.podSubnet, serviceSubnet: o.serviceSubnet },
    },
    kubeProxyDocument(o),
  ];
}

export function renderKubeadm(o: LabOptions, table: VersionsTable): string {
  const docs = kubeadmDocuments(o, table);
  const head = [
    `# kubeadm configuration for Kubernetes 1.${o.minor} (${kubeadmApiVersion(o.minor)}), kube-proxy in ${o.mode} mode.`,
    `# Generated by: proxylab config kubeadm --k8s 1.${o.minor} --mode ${o.mode}${o.scheduler ? ` --scheduler ${o.scheduler}` : ''}`,
    '# Use it with: sudo kubeadm init --config <this file>',
  ];
  if (o.mode === 'ipvs')
    head.push(
      '# IPVS needs the ip_vs kernel modules on every node (`proxylab doctor` checks them).',
    );
  return `${head.join('\n')}\n${docs.map((d) => stringify(d, { lineWidth: 0 })).join('---\n')}`;
}
