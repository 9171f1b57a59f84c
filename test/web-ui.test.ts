/**
 * The web UI in a real browser: Debian's Chromium, headless, driven over the DevTools protocol (puppeteer-core),
 * with JavaScript off (the pages must work without it). It loads the repo list, follows links to a bundle, a
 * directory and a file, downloads the file, filters the WAL by contributor, and saves a screenshot.
 */
import { existsSync, mkdtempSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import puppeteer, { type Page } from 'puppeteer-core';
import { suite } from 'uvu';
import * as assert from 'uvu/assert';
import { openStore } from '../engine/index.js';
import { runsIf, seededBytes, tempDir, who, writeFile } from './helpers.js';
import { get, startServe } from './serve-helpers.js';

const CHROMIUM = '/usr/bin/chromium';
const t = suite('web UI in Chromium');
const test = runsIf(t, existsSync(CHROMIUM) ? undefined : `${CHROMIUM} is missing (the test setup installs Debian's chromium)`);

const FLAGS = ['--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'];

/** Clicks the link matching `selector` and waits for the page it leads to. */
async function follow(page: Page, selector: string): Promise<void> {
  await Promise.all([page.waitForNavigation({ waitUntil: 'load' }), page.click(selector)]);
}

const texts = (page: Page, selector: string) => page.$$eval(selector, (els) => els.map((e) => e.textContent ?? ''));

test('repo list → bundle → directory → file in a real browser without JavaScript; the file downloads; the WAL filters by contributor', async () => {
  const src = tempDir('web-src');
  const csv = seededBytes(5, 3000).toString('hex');
  writeFile(src, 'readme.txt', 'hello');
  writeFile(src, 'data/train/part-0001.csv', csv, 0o640, 1_700_000_000);
  writeFile(src, 'data/Ünïcødé ✓.txt', 'accents');
  const root = tempDir('web-store');
  const store = await openStore({ url: root, create: true });
  await store.createRepo('images', { contributor: who, description: 'pictures <i>and</i> labels' });
  const up = await store.repo('images').upload({ source: src, contributor: who, message: 'first cut', label: 'production' });
  const other = { name: 'Other Person', email: 'other@example.com' };
  await store.repo('images').setLabel('staging', up.bundle.id, other);
  const served = await startServe(root);
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM, headless: true, args: [...FLAGS, `--user-data-dir=${tempDir('chromium-profile')}`], protocolTimeout: 120_000,
  });
  try {
    const page = await browser.newPage();
    await page.setJavaScriptEnabled(false);
    await page.goto(`${served.url}/`, { waitUntil: 'load' });
    assert.equal(await texts(page, '#repos tbody a'), ['images']);
    assert.ok((await texts(page, '#repos td')).includes('pictures <i>and</i> labels'), 'markup in a description is text');

    await follow(page, '#repos a[href="/repos/images"]');
    assert.is(await page.$eval('h1', (h) => h.textContent), 'Repo images');
    const row = await texts(page, '#bundles tbody tr:first-child td');
    assert.is(row[0], up.bundle.id);
    assert.match(row[2]!, 'production');
    assert.match(row[2]!, 'staging');
    assert.match(row[4]!, /\(uid \d+\)$/, 'the principal: who the credentials were');
    assert.is(row[5], 'first cut');
    assert.is(row[6], '3');

    await follow(page, `#bundles a[href$="/bundles/${up.bundle.id}"]`);
    assert.is(await page.$eval('h1', (h) => h.textContent), `Bundle ${up.bundle.id}`);
    assert.equal(await texts(page, '#listing tbody td:first-child a'), ['data/', 'readme.txt']);

    await follow(page, '#listing a[href$="/tree/data/"]');
    assert.equal(await texts(page, '#listing tbody td:first-child a'), ['train/', 'Ünïcødé ✓.txt']);
    await follow(page, '#listing a[href$="/tree/data/train/"]');
    assert.equal(await texts(page, '#listing tbody td:first-child a'), ['part-0001.csv']);

    await follow(page, '#listing a[href$="part-0001.csv"]');
    assert.is(await page.$eval('h1', (h) => h.textContent), 'part-0001.csv');
    assert.match(await page.$eval('#size', (d) => d.textContent ?? ''), `${csv.length} bytes`);
    assert.match(await page.$eval('#file', (d) => d.textContent ?? ''), '0640');
    const shots = mkdtempSync(path.join(os.tmpdir(), 'dm-web-ui-'));
    const shot = path.join(shots, 'file-page.png');
    await page.screenshot({ path: shot as `${string}.png`, fullPage: true });
    console.log(`screenshot: ${shot}`);
    assert.ok(existsSync(shot));

    const href = await page.$eval('#download', (a) => a.getAttribute('href') ?? '');
    assert.is(await page.$eval('#download', (a) => a.getAttribute('download')), 'part-0001.csv');
    const download = await get(served.url, href);
    assert.is(download.status, 200);
    assert.is(download.body.toString(), csv);

    await page.goto(`${served.url}/log`, { waitUntil: 'load' });
    await page.select('select[name="repo"]', 'images');
    await page.type('input[name="contributor"]', 'other@');
    await follow(page, 'form.filter button');
    assert.match(page.url(), /contributor=other%40/);
    const kinds = await texts(page, '#timeline tbody td:nth-child(2)');
    assert.equal(kinds, ['label.set']);
  } finally {
    await browser.close();
    await served.stop();
  }
});

test('lineage drawn as SVG on a bundle page (no JavaScript): a node per bundle it was made from, linking to it; the lineage page goes down too', async () => {
  const root = tempDir('web-lineage');
  const store = await openStore({ url: root, create: true });
  for (const repo of ['raw', 'features', 'model']) await store.createRepo(repo, { contributor: who });
  const src = tempDir('web-lineage-src');
  writeFile(src, 'a.csv', '1,2\n');
  const up = async (repo: string, inputs: { repo: string; ref: string }[], run: string) =>
    (await store.repo(repo).upload({ source: src, contributor: who, inputs, run: { id: run }, label: 'v1' })).bundle.id;
  const raw = await up('raw', [], 'ingest <1>');
  const features = await up('features', [{ repo: 'raw', ref: 'v1' }], 'step-1');
  const model = await up('model', [{ repo: 'features', ref: 'v1' }, { repo: 'raw', ref: 'v1' }], 'step-2');
  const served = await startServe(root);
  const browser = await puppeteer.launch({
    executablePath: CHROMIUM, headless: true, args: [...FLAGS, `--user-data-dir=${tempDir('chromium-profile')}`], protocolTimeout: 120_000,
  });
  try {
    const page = await browser.newPage();
    await page.setJavaScriptEnabled(false);
    await page.goto(`${served.url}/repos/model/bundles/${model}`, { waitUntil: 'load' });
    const nodes = async () => (await texts(page, '#lineage svg g.node > title')).sort();
    assert.equal(await nodes(), [`features@${features}`, `model@${model}`, `raw@${raw}`].sort());
    assert.is((await page.$$('#lineage svg g.edge')).length, 3, 'raw → features, features → model, raw → model');
    assert.ok((await texts(page, '#lineage svg')).join('').includes('run ingest <1>'), 'labels drawn as text');
    const shot = path.join(mkdtempSync(path.join(os.tmpdir(), 'dm-web-ui-')), 'lineage.png');
    await page.screenshot({ path: shot as `${string}.png`, fullPage: true });
    console.log(`screenshot: ${shot}`);
    // Each box links to its bundle's page.
    const hrefs = await page.$$eval('#lineage svg a', (as) => as.map((a) => a.getAttribute('href') ?? a.getAttribute('xlink:href') ?? ''));
    assert.ok(hrefs.includes(`/repos/raw/bundles/${raw}`), hrefs.join(' '));
    await page.goto(`${served.url}/repos/raw/bundles/${raw}`, { waitUntil: 'load' });
    assert.equal(await texts(page, '#lineage'), [], 'a bundle with no inputs draws nothing');
    await follow(page, 'a[href$="/lineage/?direction=down"]');
    assert.equal(await nodes(), [`features@${features}`, `model@${model}`, `raw@${raw}`].sort());
  } finally {
    await browser.close();
    await served.stop();
  }
});

t.run();
