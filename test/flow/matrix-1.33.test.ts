/** Issue 17: `proxylab lab --mode M --k8s 1.33` then `check`, M ∈ {iptables, ipvs, nftables} (see matrix-helpers.ts). */
import { labMatrix } from './matrix-helpers.js';

labMatrix('1.33');
