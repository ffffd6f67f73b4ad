// Drives VS Code (code-server) in headless Chromium with Playwright; prints a JSON report.
// Env: CODE_URL (code-server with ?folder=...), PLAYWRIGHT_CORE (module path), SCREENSHOT (png path).
import { createRequire } from "node:module";

const require = createRequire(import.meta.url);
const { chromium } = require(process.env.PLAYWRIGHT_CORE);

const report = { steps: [] };
const step = (name, data = {}) => report.steps.push({ name, ...data });

const browser = await chromium.launch({
  executablePath: "/usr/bin/chromium",
  args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync"],
});
try {
  const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
  await page.goto(process.env.CODE_URL, { waitUntil: "domcontentloaded" });
  await page.waitForSelector(".monaco-workbench", { timeout: 90000 });
  step("workbench");
  // Trust the folder if asked (so extensions run).
  const trust = page.getByRole("button", { name: /Yes, I trust the authors/i });
  if (await trust.isVisible({ timeout: 5000 }).catch(() => false)) {
    await trust.click();
    step("trusted");
  }
  const status = page.locator(".statusbar-item", { hasText: "ACOLYTE" }).first();
  await status.waitFor({ timeout: 90000 });
  step("status-item", { text: await status.innerText() });
  await page.waitForFunction(
    () => [...document.querySelectorAll(".statusbar-item")].some((e) => /ACOLYTE indexing/.test(e.textContent || "")),
    null,
    { timeout: 60000 },
  );
  report.sawIndexing = true;
  step("indexing");
  await page.waitForFunction(
    () => [...document.querySelectorAll(".statusbar-item")].some((e) => /ACOLYTE [\d,]+ chunks/.test(e.textContent || "")),
    null,
    { timeout: 120000 },
  );
  report.statusAfterIndex = await page.locator(".statusbar-item", { hasText: "chunks" }).first().innerText();
  step("indexed");
  // Command palette: ACOLYTE: Reindex Workspace
  await page.keyboard.press("F1");
  await page.keyboard.type("ACOLYTE: Reindex Workspace");
  await page.waitForSelector(".quick-input-list .monaco-list-row", { timeout: 20000 });
  await page.keyboard.press("Enter");
  step("reindex-command");
  // Problems panel shows the acolyte diagnostic of the rejected file.
  await page.keyboard.press("Control+Shift+M");
  const problem = page.locator(".markers-panel .monaco-list-row", { hasText: "Not indexed" }).first();
  await problem.waitFor({ timeout: 60000 });
  report.problem = await problem.innerText();
  step("problem");
  await page.screenshot({ path: process.env.SCREENSHOT });
  step("screenshot");
  report.ok = true;
} catch (err) {
  report.ok = false;
  report.error = String(err && err.stack || err);
  const pages = browser.contexts().flatMap((c) => c.pages());
  if (pages.length) {
    await pages[0].screenshot({ path: process.env.SCREENSHOT.replace(/\.png$/, "-failure.png") }).catch(() => {});
  }
} finally {
  await browser.close();
  console.log(JSON.stringify(report));
}
