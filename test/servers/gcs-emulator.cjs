// Starts only the (pure Node) Cloud Storage emulator from firebase-tools, bound to 127.0.0.1, without the Java
// rules runtime that `firebase emulators:start` insists on (Java 21 and a jar download; neither is available here).
// The GCS JSON API routes use the emulator's admin layer, so security rules never apply to @google-cloud/storage.
// Uses firebase-tools internals: the version is pinned in package.json.
const runtime = require('firebase-tools/lib/emulator/storage/rules/runtime');
runtime.StorageRulesRuntime.prototype.start = async function () {};
runtime.StorageRulesRuntime.prototype.stop = async function () {};
const { StorageEmulator } = require('firebase-tools/lib/emulator/storage');
const { EmulatorRegistry } = require('firebase-tools/lib/emulator/registry');
const port = Number(process.env.GCS_EMULATOR_PORT || 9199);
const emu = new StorageEmulator({ projectId: 'demo-datamover', host: '127.0.0.1', port, rules: [], auto_download: false });
EmulatorRegistry.start(emu).then(
  () => console.log(`gcs emulator ready on http://127.0.0.1:${port}`),
  (e) => { console.error(e); process.exit(1); });
for (const sig of ['SIGTERM', 'SIGINT']) process.on(sig, () => EmulatorRegistry.stopAll().finally(() => process.exit(0)));
