import { suite } from 'uvu';
import path from 'node:path';
import { tempDir } from './helpers.js';
import { repoDeleteThenGc, secretRemoval } from './gc-scenarios.js';

const t = suite('gc: a removed secret and a deleted repo leave no bytes behind (local store)');

t('bundle rewrite --exclude, then gc: no object holds the secret', async () => {
  await secretRemoval(path.join(tempDir('secret'), 'store'));
});

t('repo delete, then gc: no object of that repo\'s data', async () => {
  await repoDeleteThenGc(path.join(tempDir('repo-del'), 'store'));
});

t.run();
