/**
 * Validate a config file a user wrote: every YAML document in it (kubeadm, kube-proxy or kind)
 * is parsed strictly — unknown keys, wrong apiVersion/kind, bad mode, scheduler or duration —
 * and every problem in every document is reported at once.
 */
import { parseAllDocuments } from 'yaml';
import { isPlain, type Problem } from './problems.js';
import { checkKubeProxy, KUBEPROXY_API } from './kubeproxy.js';
import { checkKubeadm } from './kubeadm.js';
import { checkKind, KIND_API } from './kind.js';

export const SUPPORTED = [
  'kubeadm.k8s.io/v1beta3 or v1beta4: ClusterConfiguration, InitConfiguration, JoinConfiguration',
  `${KUBEPROXY_API}: KubeProxyConfiguration`,
  `${KIND_API}: Cluster`,
];

const KUBEADM_KINDS = ['ClusterConfiguration', 'InitConfiguration', 'JoinConfiguration'];

export interface CheckedDocument {
  apiVersion: string;
  kind: string;
}

export function checkConfigText(
  text: string,
  minor?: number,
): { documents: CheckedDocument[]; problems: Problem[] } {
  const problems: Problem[] = [];
  const documents: CheckedDocument[] = [];
  const docs = parseAllDocuments(text);
  const list = Array.isArray(docs) ? docs : [docs];
  list.forEach((d, i) => {
    const at = list.length > 1 ? `document ${i + 1}` : 'document';
    if (d.errors.length) {
      problems.push({ at, message: `not valid YAML: ${d.errors[0]!.message.split('\n')[0]}` });
      return;
    }
    const doc: unknown = d.toJS();
    if (doc === null || doc === undefined) return;
    if (!isPlain(doc)) {
      problems.push({ at, message: 'must be a YAML map with apiVersion and kind' });
      return;
    }
    const api = typeof doc.apiVersion === 'string' ? doc.apiVersion : '';
    const kind = typeof doc.kind === 'string' ? doc.kind : '';
    const where = `${at} (${kind || 'no kind'})`;
    documents.push({ apiVersion: api, kind });
    if (!api || !kind) {
      problems.push({ at: where, message: `missing ${!api ? 'apiVersion' : 'kind'}` });
      return;
    }
    if (/^kubeadm\.k8s\.io\/v1beta[12]$/.test(api)) {
      problems.push({
        at: `${where}.apiVersion`,
        message: `${api} was removed from kubeadm (v1beta2 in 1.27); use kubeadm.k8s.io/v1beta4 (Kubernetes 1.31+) or v1beta3 (up to 1.35)`,
      });
      return;
    }
    if (/^kubeadm\.k8s\.io\/v1beta[34]$/.test(api) && KUBEADM_KINDS.includes(kind))
      return checkKubeadm(doc, where, minor, problems);
    if (api === KUBEPROXY_API && kind === 'KubeProxyConfiguration')
      return checkKubeProxy(doc, where, minor, problems);
    if (api === KIND_API && kind === 'Cluster') return checkKind(doc, where, minor, problems);
    problems.push({
      at: where,
      message: `unsupported apiVersion/kind "${api}" / "${kind}"; proxylab checks: ${SUPPORTED.join('; ')}`,
    });
  });
  if (!documents.length && !problems.length)
    problems.push({ at: 'file', message: 'has no YAML documents' });
  return { documents, problems };
}
