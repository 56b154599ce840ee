// Open an edgeport demo page in headless Chromium, give it an input, read what it shows.
// usage: node browser.mjs URL SCREENSHOT.png OUT.json [draw|vector:1,2,3]
// OUT.json: {status, note, predictions: [{index, score}] as shown, input: the page's last model input,
//            time: the shown inference time, console: page errors}
import fs from 'node:fs';
import {chromium} from 'playwright-core';

const [url, screenshot, outFile, action = 'draw'] = process.argv.slice(2);
const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || '/usr/bin/chromium',
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking',
         '--disable-component-update', '--no-first-run'],
});
const errors = [];
try {
  const page = await browser.newPage({viewport: {width: 900, height: 760}});
  page.on('pageerror', (e) => errors.push(String(e)));
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(url);
  await page.waitForFunction(() => document.body.dataset.ready, null, {timeout: 60000});
  const status = await page.textContent('#status');
  const note = await page.textContent('#note');
  if (await page.evaluate(() => document.body.dataset.ready) === 'true') {
    if (action === 'draw') {
      // a "7": a stroke along the top, then down to the lower left
      const box = await page.locator('#canvas').boundingBox();
      const p = (fx, fy) => [box.x + fx * box.width, box.y + fy * box.height];
      await page.mouse.move(...p(0.25, 0.2));
      await page.mouse.down();
      for (const [fx, fy] of [[0.5, 0.2], [0.75, 0.2], [0.6, 0.5], [0.45, 0.85]]) {
        await page.mouse.move(...p(fx, fy), {steps: 8});
      }
      await page.mouse.up();
    } else if (action.startsWith('vector:')) {
      const values = action.slice(7).split(',');
      const fields = page.locator('#vector input');
      for (let i = 0; i < values.length; i++) await fields.nth(i).fill(values[i]);
      await page.click('#predict');
    }
    await page.waitForSelector('#predictions tr[data-index]', {timeout: 60000});
  }
  await page.screenshot({path: screenshot, fullPage: true});
  const shown = await page.$$eval('#predictions tr[data-index]', (rows) => rows.map((r) => ({
    index: Number(r.dataset.index), label: r.cells[0].textContent,
    score: Number(r.querySelector('.score').textContent)})));
  const result = await page.evaluate(() => ({
    input: window.edgeportDemo.state.lastInput, time: document.getElementById('time').textContent}));
  fs.writeFileSync(outFile, JSON.stringify({status, note, predictions: shown, ...result, errors}));
} finally {
  await browser.close();
}
