/** Issue 17: `proxylab lab --mode M --k8s 1.35` then `check`, M ∈ {iptables, ipvs, nftables} (see matrix-helpers.ts);
 * its ipvs lab is the README's `make lab` sample run and compared with the README block. */
import { labMatrix } from './matrix-helpers.js';

labMatrix('1.35', { readmeSample: true });
