// The `yaml` package, loaded on first use: most fake calls (docker exec, kubectl get -o json)
// never read or write YAML, and loading it costs every call about a quarter of its start-up.
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);
let lib;
const load = () => (lib ??= require('yaml'));

export default {
  parse: (...a) => load().parse(...a),
  stringify: (...a) => load().stringify(...a),
  parseAllDocuments: (...a) => load().parseAllDocuments(...a),
};
