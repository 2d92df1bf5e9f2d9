// Browser tests of the dashboard: Debian's chromium, driven by playwright-core (no browser
// download), against a real `opsready demo` on a free loopback port with a temporary data dir.
//
//   node tests/e2e/run.mjs build/h/bin/opsready
//
// Env: E2E_ARTIFACTS (screenshots; default build/e2e-artifacts), E2E_UPDATE_DOCS=1 (copy the
// full-page screenshot to docs/dashboard.png), CHROMIUM (default /usr/bin/chromium), CI (a
// missing chromium or web/node_modules fails instead of skipping with exit 77).
import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "../..");
const binary = path.resolve(process.argv[2] ?? path.join(root, "build/h/bin/opsready"));
const chromiumPath = process.env.CHROMIUM ?? "/usr/bin/chromium";
const artifacts = path.resolve(process.env.E2E_ARTIFACTS ?? path.join(root, "build/e2e-artifacts"));
const SKIP = 77;

function skipOrFail(why) {
  if (process.env.CI) { console.error(`FAIL (CI is set): ${why}`); process.exit(1); }
  console.log(`SKIP: ${why}`); process.exit(SKIP);
}
if (!fs.existsSync(chromiumPath)) skipOrFail(`${chromiumPath} not found (scripts/setup installs Debian's chromium)`);
const webModules = path.join(root, "web/node_modules");
if (!fs.existsSync(path.join(webModules, "playwright-core")) || !fs.existsSync(path.join(webModules, "axe-core")))
  skipOrFail("web/node_modules missing (run npm ci --prefix web, or scripts/setup)");
if (!fs.existsSync(binary)) { console.error(`FAIL: no binary at ${binary}`); process.exit(1); }

const require = createRequire(path.join(root, "web/package.json"));
const { chromium } = require("playwright-core");
const axePath = path.join(webModules, "axe-core/axe.min.js");

const PANELS = ["readiness", "alerts", "incidents", "drills", "drift", "slos", "ingest-bus", "supervision", "risk",
  "latency", "pnl-roi", "understanding", "compliance", "diary"];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "opsready-e2e-"));
const profile = fs.mkdtempSync(path.join(os.tmpdir(), "opsready-e2e-chromium-"));
fs.mkdirSync(artifacts, { recursive: true });

// ---- the daemon -----------------------------------------------------------------------------
let daemon = null, port = 0, base = "";
async function startDaemon(listen) {
  const log = fs.openSync(path.join(artifacts, "daemon.log"), "a");
  const child = spawn(binary, ["demo", "--listen", listen, "--data-dir", dataDir], { stdio: ["ignore", "pipe", "pipe"] });
  let text = "";
  const got = new Promise((resolve, reject) => {
    const onData = (b) => {
      fs.writeSync(log, b); text += b.toString();
      const m = /listening on http:\/\/[^:\s]+:(\d+)/.exec(text);
      if (m) resolve(Number(m[1]));
    };
    child.stdout.on("data", onData); child.stderr.on("data", onData);
    child.on("exit", (code) => reject(new Error(`opsready exited (${code}) before listening:\n${text}`)));
    setTimeout(() => reject(new Error(`opsready did not listen within 30 s:\n${text}`)), 30000);
  });
  port = await got;
  base = `http://127.0.0.1:${port}`;
  daemon = child;
  for (let i = 0; i < 100; i++) { try { if ((await fetch(`${base}/-/ready`)).ok) break; } catch { /* starting */ } await sleep(100); }
}
async function stopDaemon() {
  if (!daemon) return;
  const d = daemon; daemon = null;
  const exited = new Promise((r) => d.once("exit", r));
  d.kill("SIGTERM");
  await Promise.race([exited, sleep(15000).then(() => d.kill("SIGKILL"))]);
}
async function postEvent(component, status, summary) {
  const res = await fetch(`${base}/api/v1/events`, { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ topic: "opsready.component.snapshot", source: "e2e", payload: { component, status, summary } }) });
  if (res.status !== 202) throw new Error(`POST /api/v1/events: ${res.status} ${await res.text()}`);
}
const getJSON = async (p) => (await fetch(`${base}${p}`)).json();

// ---- the checks -----------------------------------------------------------------------------
const results = [];
async function check(name, fn) {
  const t0 = Date.now();
  try { await fn(); results.push({ name, ok: true }); console.log(`ok   ${name} (${Date.now() - t0} ms)`); }
  catch (e) { results.push({ name, ok: false, error: e.message }); console.log(`FAIL ${name}: ${e.message.split("\n").slice(0, 6).join("\n     ")}`); }
}
async function waitFor(pred, ms, what) {
  const end = Date.now() + ms;
  for (;;) { const v = await pred(); if (v) return v; if (Date.now() > end) throw new Error(`timed out after ${ms} ms: ${what}`); await sleep(100); }
}

let context, page;
async function main() {
  await startDaemon("127.0.0.1:0");
  context = await chromium.launchPersistentContext(profile, {
    executablePath: chromiumPath, headless: true, bypassCSP: true, viewport: { width: 1280, height: 900 },
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
      "--disable-component-update", "--disable-sync"],
  });
  page = context.pages()[0] ?? await context.newPage();
  const consoleErrors = [];
  page.on("console", (m) => { if (m.type() === "error") consoleErrors.push(m.text()); });
  page.on("pageerror", (e) => consoleErrors.push(String(e)));
  await page.goto(`${base}/`);

  await check("served page: security headers and the embedded assets", async () => {
    const r = await fetch(`${base}/`);
    if (!r.headers.get("content-security-policy")?.startsWith("default-src 'self'")) throw new Error("no CSP");
    if (r.headers.get("x-content-type-options") !== "nosniff") throw new Error("no nosniff");
    const js = await fetch(`${base}/assets/vendor/uPlot.iife.min.js`);
    const want = fs.readFileSync(path.join(root, "web/vendor/uPlot.iife.min.js"), "utf8");
    if ((await js.text()) !== want) throw new Error("served uPlot differs from web/vendor");
  });

  await check("every panel of the DOM contract renders with a data-status", async () => {
    await page.waitForSelector("#connection[data-state=open]", { timeout: 10000 });
    for (const slug of PANELS) {
      const sel = `section.panel#panel-${slug}[data-panel="${slug}"]`;
      await page.waitForFunction((s) => {
        const p = document.querySelector(s);
        return p && ["ok", "warn", "fail", "unknown"].includes(p.dataset.status) &&
          p.querySelector("h2") && p.querySelector(".status-badge")?.textContent === p.dataset.status.toUpperCase() &&
          p.querySelector(".headline")?.textContent && p.querySelector(".headline").textContent !== "Loading…";
      }, sel, { timeout: 10000 }).catch(() => { throw new Error(`panel ${slug} did not render`); });
    }
    const statuses = await page.$$eval("section.panel[data-panel]", (ps) => ps.map((p) => `${p.dataset.panel}=${p.dataset.status}`));
    console.log(`     ${statuses.join(" ")}`);
    await page.waitForSelector("#components-table tbody tr[data-component][data-status]", { timeout: 10000 });
  });

  let drillId = null;
  await check("drills & sign-offs: no runs yet, the demo's scenario and both sign-offs with their standings", async () => {
    const empty = await page.waitForSelector("#panel-drills .drill-runs .empty", { timeout: 10000 });
    const text = await empty.textContent();
    if (!text.includes("No drills run yet") || !text.includes("opsready drill run demo-feed-stall")) throw new Error(`empty state: ${text}`);
    await page.waitForSelector('#panel-drills li[data-scenario="demo-feed-stall"]', { timeout: 5000 });
    await page.waitForSelector('#panel-drills tr[data-signoff="security-review"][data-status="ok"]', { timeout: 5000 });
    await page.waitForSelector('#panel-drills tr[data-signoff="access-review"][data-status="warn"]', { timeout: 5000 });
    const standing = await page.textContent('#panel-drills tr[data-signoff="access-review"] .st');
    if (standing !== "DUE SOON") throw new Error(`access-review standing: ${standing}`);
    // Started now, while the gate passes (the e2e_probe failure below makes it block); it runs
    // while the next checks do and must be over before the daemon is stopped.
    const res = await fetch(`${base}/api/v1/drills`, { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ scenario: "demo-feed-stall", by: "e2e" }) });
    const body = await res.json();
    if (res.status !== 202) throw new Error(`POST /api/v1/drills: ${res.status} ${JSON.stringify(body)}`);
    drillId = body.drill_id;
  });

  await check("a component posted as fail turns its row and the readiness panel to fail within 1 s, without reload", async () => {
    await postEvent("e2e_probe", "ok", "e2e probe ok");
    await page.waitForSelector('tr[data-component="e2e_probe"][data-status="ok"]', { timeout: 5000 });
    await page.evaluate(() => { window.__e2eNoReload = true; });
    const t0 = Date.now();
    await postEvent("e2e_probe", "fail", "e2e probe failing");
    await page.waitForSelector('tr[data-component="e2e_probe"][data-status="fail"]', { timeout: 1000 });
    await page.waitForSelector('#panel-readiness[data-status="fail"]', { timeout: Math.max(1, 1000 - (Date.now() - t0)) });
    console.log(`     fail shown after ${Date.now() - t0} ms`);
    if (!(await page.evaluate(() => window.__e2eNoReload))) throw new Error("the page reloaded");
  });

  await check("an ack made from the page shows up in GET /api/v2/alerts/groups", async () => {
    // A group can be acked once open (its first notification): the e2e_probe group, posted fail
    // above, whose incident is open.
    const key = await waitFor(async () => (await getJSON("/api/v1/incidents?state=open")).incidents
      ?.find((i) => i.group?.includes('component="e2e_probe"') && i.group.includes("OpsreadyComponentNotOk"))?.group, 40000, "an open incident of e2e_probe");
    const id = await waitFor(async () => (await getJSON("/api/v2/alerts/groups")).find((g) => g.key === key)?.id, 5000, "its group");
    await page.fill("#silence-created-by", "e2e");
    // A locator, not a handle: the group's row is rendered anew by each alerts event, and its
    // button is enabled once the server says the group is ackable.
    await page.locator(`[data-group-id="${id}"] button[data-action="ack"]:not([disabled])`).click({ timeout: 10000 });
    await waitFor(async () => (await getJSON("/api/v2/alerts/groups")).find((g) => g.id === id && g.ack), 5000, `group ${id} acked`);
    await page.waitForSelector(`[data-group-id="${id}"] button[data-action="unack"]`, { timeout: 5000 });
  });

  await check("a silence made from the page shows up in GET /api/v2/silences, and expires from the page", async () => {
    await page.fill('#silence-form [name="matchers"]', 'alertname="E2ESilence",severity=~"crit.*"');
    await page.fill('#silence-form [name="duration"]', "1h");
    await page.fill('#silence-form [name="createdBy"]', "e2e");
    await page.fill('#silence-form [name="comment"]', "made by the browser test");
    await page.click('#silence-form button[type="submit"]');
    const s = await waitFor(async () => (await getJSON("/api/v2/silences")).find((x) => x.comment === "made by the browser test" && x.status?.state === "active"), 5000, "silence listed");
    if (!s.matchers.some((m) => m.name === "severity" && m.isRegex && m.value === "crit.*")) throw new Error(`matchers: ${JSON.stringify(s.matchers)}`);
    await page.click(`button[data-action="expire-silence"][data-silence-id="${s.id}"]`);
    await waitFor(async () => (await getJSON("/api/v2/silences")).find((x) => x.id === s.id && x.status?.state === "expired"), 5000, "silence expired");
  });

  await check("a write the server refuses shows the server's error text", async () => {
    await page.fill('#silence-form [name="matchers"]', 'alertname=~"("');
    await page.click('#silence-form button[type="submit"]');
    await page.waitForSelector("#panel-alerts .write-result.error", { timeout: 5000 });
    const text = await page.textContent("#panel-alerts .write-result");
    if (!/Failed \(\d+\): ./.test(text)) throw new Error(`shown: ${text}`);
  });

  await check("the drill's run shows in the panel: verdict PASS, its response times and a link to its evidence", async () => {
    if (!drillId) throw new Error("the drill was not started");
    const run = await waitFor(async () => (await getJSON("/api/v1/drills")).runs?.find((r) => r.drill_id === drillId && r.verdict), 60000, `drill ${drillId} finished`);
    if (run.verdict !== "Pass") throw new Error(`verdict ${run.verdict}: ${run.failed_step} ${run.reason}`);
    const row = `#panel-drills tr[data-drill-id="${drillId}"][data-status="ok"]`;
    await page.waitForSelector(row, { timeout: 20000 });
    const cells = await page.$$eval(`${row} td`, (tds) => tds.map((td) => td.textContent));
    if (cells[0] !== "demo-feed-stall" || cells[1] !== "PASS") throw new Error(`row: ${cells.join(" | ")}`);
    if (!/^\d/.test(cells[3]) || !/ (ms|s|min)$/.test(cells[3])) throw new Error(`MTTD cell: ${cells[3]}`);
    if (cells[6] !== "") throw new Error(`a passing run shows a reason: ${cells[6]}`);
    const href = await page.getAttribute(`${row} a[href$="${drillId}"]`, "href");
    const evidence = await getJSON(href);
    if (evidence.drill_id !== drillId || evidence.verdict !== "Pass") throw new Error(`evidence at ${href}: ${JSON.stringify(evidence).slice(0, 200)}`);
  });

  await check("drills & sign-offs: the empty states when the daemon has none", async () => {
    const p2 = await context.newPage();
    try {
      await p2.route(/\/api\/v1\/(drills|signoffs)(\?|$)/, (route) => route.fulfill({ contentType: "application/json",
        body: JSON.stringify(route.request().url().includes("/signoffs") ? { status: "ok", summary: "", signoffs: [], records: [] }
          : { scenarios: [], running: null, runs: [] }) }));
      await p2.goto(`${base}/`);
      const text = await p2.waitForFunction(() => {
        const t = document.querySelector("#panel-drills")?.textContent ?? "";
        return t.includes("No sign-offs configured") ? t : null;
      }, null, { timeout: 10000 }).then((h) => h.jsonValue());
      for (const want of ["No drills run yet", "opsready drill run SCENARIO", "No drill scenarios configured"]) {
        if (!text.includes(want)) throw new Error(`missing "${want}" in: ${text}`);
      }
      if (await p2.$("#panel-drills tr[data-drill-id], #panel-drills tr[data-signoff]")) throw new Error("rows rendered from empty lists");
    } finally { await p2.close(); }
  });

  await check("the connection dropped and restored: #connection lost then open, data updates again", async () => {
    const keep = port;
    await stopDaemon();
    await page.waitForSelector("#connection[data-state=lost]", { timeout: 10000 });
    await startDaemon(`127.0.0.1:${keep}`);
    await page.waitForSelector("#connection[data-state=open]", { timeout: 20000 });
    await postEvent("e2e_after_reconnect", "warn", "posted after the restart");
    await page.waitForSelector('tr[data-component="e2e_after_reconnect"][data-status="warn"]', { timeout: 5000 });
    if (!(await page.evaluate(() => window.__e2eNoReload))) throw new Error("the page reloaded");
  });

  for (const scheme of ["light", "dark"]) {
    await check(`axe-core: no serious or critical violations (${scheme})`, async () => {
      await page.emulateMedia({ colorScheme: scheme });
      await sleep(300);
      if (!(await page.evaluate(() => !!window.axe))) await page.addScriptTag({ path: axePath });
      const r = await page.evaluate(async () => (await window.axe.run(document, { resultTypes: ["violations"] })).violations
        .map((v) => ({ id: v.id, impact: v.impact, nodes: v.nodes.slice(0, 3).map((n) => n.target.join(" ")) })));
      const bad = r.filter((v) => v.impact === "serious" || v.impact === "critical");
      if (r.length) console.log(`     all violations: ${r.map((v) => `${v.id}(${v.impact})`).join(", ")}`);
      if (bad.length) throw new Error(bad.map((v) => `${v.id} (${v.impact}): ${v.nodes.join(" | ")}`).join("\n"));
    });
    await check(`screenshots of each panel (${scheme})`, async () => {
      await page.setViewportSize({ width: 1280, height: 900 });
      for (const slug of PANELS) {
        await page.locator(`#panel-${slug}`).screenshot({ path: path.join(artifacts, `panel-${slug}-${scheme}.png`) });
      }
      const full = path.join(artifacts, `dashboard-${scheme}.png`);
      await page.screenshot({ path: full, fullPage: true });
      if (scheme === "light" && process.env.E2E_UPDATE_DOCS === "1") fs.copyFileSync(full, path.join(root, "docs/dashboard.png"));
    });
  }
  await page.emulateMedia({ colorScheme: "light" });

  await check("works at 375 px: no horizontal scroll of the body, panels present", async () => {
    await page.setViewportSize({ width: 375, height: 800 });
    await sleep(500);
    const m = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, cw: document.documentElement.clientWidth, bw: document.body.scrollWidth }));
    if (m.sw > m.cw + 1 || m.bw > m.cw + 1) throw new Error(`scrollWidth ${m.sw}/${m.bw} > clientWidth ${m.cw}`);
    await page.screenshot({ path: path.join(artifacts, "dashboard-375.png"), fullPage: true });
    await page.setViewportSize({ width: 1280, height: 900 });
  });

  await check("keyboard: the skip link is the first tab stop and moves focus to main", async () => {
    await page.goto(`${base}/`);
    await page.waitForSelector("#connection[data-state=open]", { timeout: 10000 });
    await page.keyboard.press("Tab");
    if ((await page.evaluate(() => document.activeElement?.className)) !== "skip-link") throw new Error("first tab stop is not the skip link");
    await page.keyboard.press("Enter");
    if ((await page.evaluate(() => document.activeElement?.id)) !== "dashboard") throw new Error("focus did not move to main");
  });

  await check("first load is at most 300 KB compressed", async () => {
    let total = 0;
    for (const p of ["/", "/assets/app.js", "/assets/app.css", "/assets/vendor/uPlot.iife.min.js", "/assets/vendor/uPlot.min.css"]) {
      const raw = await rawSize(p); total += raw;
    }
    console.log(`     first load: ${total} bytes gzip (page and assets)`);
    if (total > 300 * 1024) throw new Error(`${total} bytes`);
  });

  if (consoleErrors.length) console.log(`     console errors: ${consoleErrors.slice(0, 5).join(" | ")}`);
}

// Bytes on the wire with Accept-Encoding: gzip (node's fetch would decompress; use http).
async function rawSize(p) {
  const http = await import("node:http");
  return new Promise((resolve, reject) => {
    http.get({ host: "127.0.0.1", port, path: p, headers: { "Accept-Encoding": "gzip" } }, (res) => {
      let n = 0; res.on("data", (b) => { n += b.length; }); res.on("end", () => resolve(n));
    }).on("error", reject);
  });
}

let code = 0;
try { await main(); } catch (e) { console.error(`FAIL: ${e.stack}`); code = 1; }
finally {
  try { await context?.close(); } catch { /* closing */ }
  await stopDaemon();
  fs.rmSync(dataDir, { recursive: true, force: true });
  fs.rmSync(profile, { recursive: true, force: true });
}
const failed = results.filter((r) => !r.ok);
fs.writeFileSync(path.join(artifacts, "results.json"), JSON.stringify(results, null, 2));
console.log(`${results.length - failed.length}/${results.length} checks passed; artifacts in ${artifacts}`);
process.exit(code || (failed.length ? 1 : 0));
