/**
 * fsck while uploads commit: its view is taken in reverse commit order, so an upload landing packs, indexes,
 * pages, WAL records, descriptors and labels meanwhile never shows up as a problem.
 */
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { cli, cliAwait, seededBytes, tempDir, writeFile } from './helpers.js';

const t = suite('fsck under concurrent uploads');

const UPLOADS = Number(process.env.DATAMOVER_TEST_FSCK_UPLOADS ?? 6);

t(`fsck run over and over while two loops of ${UPLOADS} uploads commit: never a problem`, async () => {
  const store = tempDir('fsck-conc');
  assert.is(cli(['--store', store, 'repo', 'create', 'r']).code, 0);
  const loop = async (n: number) => {
    const src = tempDir(`fsck-conc-src-${n}`);
    for (let i = 0; i < 40; i++) writeFile(src, `small/f${i}.txt`, seededBytes(1000 * n + i, 2000 + i));
    for (let k = 0; k < UPLOADS; k++) {
      // New bytes every time: every upload lands packs and index checkpoints, not only metadata.
      for (let i = 0; i < 3; i++) writeFile(src, `big/f${i}.bin`, seededBytes(100_000 * n + 10 * k + i, 1024 * 1024 + i));
      const up = await cliAwait(['--store', store, 'bundle', 'upload', src, '--repo', 'r', '--label', `l${n}`,
        '--pack-size', '256KiB', '--workers', '1']);
      assert.is(up.code, 0, up.stderr);
    }
  };
  let uploading = true;
  const uploads = Promise.all([loop(1), loop(2)]).finally(() => { uploading = false; });
  let checks = 0;
  const deadline = Date.now() + 240_000;
  while (uploading && Date.now() < deadline) {
    const check = await cliAwait(['--store', store, 'fsck']);
    checks++;
    assert.is(check.code, 0, `fsck ${checks} while uploads commit: ${check.stdout}${check.stderr}`);
  }
  await uploads;
  console.log(`  ${checks} fsck runs while ${2 * UPLOADS} uploads committed`);
  assert.ok(checks >= 2, 'fsck ran while uploads committed');
  const final = cli(['--store', store, 'fsck', '--read-data']);
  assert.is(final.code, 0, final.stdout + final.stderr);
});

t.run();
