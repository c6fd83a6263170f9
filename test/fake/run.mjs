// A fake tool as a process of its own: `node run.mjs <docker|kind|kubectl> args…`. The
// client (bin/fake-client) runs this when no server answers for $FAKE_STATE, or when the
// server hands a call back (it sleeps: a hang, a delay, a wait that times out).
import { main } from './sim.mjs';

const [tool, ...argv] = process.argv.slice(2);
await main(tool, argv);
