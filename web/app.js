// opsready dashboard: plain DOM, one EventSource, uPlot (vendored) for the charts.
// Everything tolerates missing fields and routes that answer 404: the panel says "unavailable".
const $ = (sel, root = document) => root.querySelector(sel);
const $$ = (sel, root = document) => Array.from(root.querySelectorAll(sel));

const RUNBOOKS = new Set(["backups", "cache", "cross_region_failover", "disaster_recovery",
  "drift_sentry", "failover_drill", "incident_response", "ingest_slos", "nats_consumer",
  "professional_readiness", "security", "sensory_drift", "strategy_performance",
  "system_validation", "understanding_loop"]);
const ORIGINAL = { "Risk & exposure": "risk", "Latency & throughput": "latency",
  "PnL & ROI": "pnl-roi", "Understanding loop": "understanding",
  "Compliance & governance": "compliance", "Decision diary": "diary" };
// Spec §5.1: incident response thresholds, minutes (overridden by incident_response metadata).
const IR_DEFAULT = { mtta_warn: 30, mtta_fail: 60, mttr_warn: 180, mttr_fail: 360 };
const RANK = { ok: 0, unknown: 1, warn: 2, fail: 3 };

const state = { readiness: null, gate: null, dashboard: null, alerts: null, supervision: null,
  incidents: null, drills: null, signoffs: null, history: null, window: "24h", sort: { key: "status", dir: -1 }, filter: "",
  stats: [], drift: {}, charts: new Map() };

// ---- helpers --------------------------------------------------------------------------------
function el(tag, attrs = {}, ...kids) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === null || v === false) continue;
    if (k === "class") e.className = v;
    else if (k === "text") e.textContent = v;
    else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
    else e.setAttribute(k, v === true ? "" : String(v));
  }
  for (const kid of kids.flat()) {
    if (kid === undefined || kid === null || kid === false) continue;
    e.append(kid instanceof Node ? kid : document.createTextNode(String(kid)));
  }
  return e;
}
function norm(s) {
  s = String(s ?? "").toLowerCase();
  if (["ok", "pass", "passed", "healthy", "green", "success", "running"].includes(s)) return "ok";
  if (["warn", "warning", "degraded", "yellow"].includes(s)) return "warn";
  if (["fail", "failed", "block", "critical", "error", "breached", "red", "down"].includes(s)) return "fail";
  return "unknown";
}
const worst = (list) => list.reduce((a, b) => (RANK[b] > RANK[a] ? b : a), "ok");
function badge(status) { const s = norm(status); return el("span", { class: `st ${s}`, text: s.toUpperCase() }); }
function parseTime(t) { const d = t ? new Date(t) : null; return d && !isNaN(d) ? d : null; }
function utc(t) { const d = parseTime(t); return d ? d.toISOString().replace("T", " ").slice(0, 19) + "Z" : "–"; }
function ago(t) {
  const d = parseTime(t); if (!d) return "";
  let s = Math.round((Date.now() - d.getTime()) / 1000);
  const future = s < 0; s = Math.abs(s);
  const txt = s < 60 ? `${s} s` : s < 3600 ? `${Math.round(s / 60)} min` : s < 86400 ? `${Math.round(s / 3600)} h` : `${Math.round(s / 86400)} d`;
  return future ? `in ${txt}` : `${txt} ago`;
}
function timeEl(t) {
  const d = parseTime(t);
  return el("time", { datetime: d ? d.toISOString() : undefined, "data-ts": d ? d.toISOString() : undefined,
    text: d ? `${utc(t)} (${ago(t)})` : "–" });
}
function refreshTimes() { for (const t of $$("time[data-ts]")) t.textContent = `${utc(t.dataset.ts)} (${ago(t.dataset.ts)})`; }
function fmt(v) {
  if (v === null || v === undefined) return "–";
  if (typeof v === "number") return Number.isInteger(v) ? String(v) : v.toFixed(Math.abs(v) < 10 ? 3 : 1);
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}
function kv(obj, keys) {
  const dl = el("dl", { class: "kv" });
  for (const k of keys ?? Object.keys(obj ?? {})) {
    const v = obj?.[k];
    if (v === undefined || (typeof v === "object" && v !== null && !Array.isArray(v))) continue;
    dl.append(el("dt", { text: k.replaceAll("_", " ") }), el("dd", { text: Array.isArray(v) ? v.map(fmt).join(", ") : fmt(v) }));
  }
  return dl;
}
function rawDetails(label, obj) {
  if (obj === undefined || obj === null || (typeof obj === "object" && Object.keys(obj).length === 0)) return null;
  return el("details", {}, el("summary", { text: label }), el("pre", { text: JSON.stringify(obj, null, 2) }));
}
function setPanel(slug, status, headline) {
  const p = document.getElementById(`panel-${slug}`); if (!p) return null;
  const s = norm(status);
  p.dataset.status = s;
  $(".status-badge", p).textContent = s.toUpperCase();
  if (headline !== undefined) $(".headline", p).textContent = headline;
  return p;
}
// Re-renders `container` keeping the keyboard focus on the "same" control.
function keepFocus(fn) {
  const a = document.activeElement;
  const key = a?.dataset?.focusKey;
  fn();
  if (key) document.querySelector(`[data-focus-key="${CSS.escape(key)}"]`)?.focus();
}

async function api(method, path, body) {
  const headers = { Accept: "application/json" };
  const token = $("#api-token").value.trim();
  if (token) headers.Authorization = `Bearer ${token}`;
  if (body !== undefined) headers["Content-Type"] = "application/json";
  let res;
  try {
    res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body), cache: "no-store" });
  } catch (e) { return { ok: false, status: 0, error: `network error: ${e.message}` }; }
  const text = await res.text();
  let data = null;
  try { data = text ? JSON.parse(text) : null; } catch { data = null; }
  if (!res.ok) return { ok: false, status: res.status, error: (data && (data.error || data.message)) || text || res.statusText, data };
  return { ok: true, status: res.status, data };
}

// ---- charts ---------------------------------------------------------------------------------
function cssVar(n) { return getComputedStyle(document.documentElement).getPropertyValue(n).trim(); }
function chart(container, key, series, data, opts = {}) {
  if (!window.uPlot || !container) return;
  const width = Math.max(160, container.clientWidth || 300);
  const old = state.charts.get(key);
  if (old && old.container === container && old.n === series.length && old.scheme === scheme()) {
    old.u.setData(data); return;
  }
  if (old) old.u.destroy();
  container.textContent = "";
  const axis = { stroke: cssVar("--muted"), grid: { stroke: cssVar("--chart-grid") }, ticks: { stroke: cssVar("--chart-grid") } };
  const u = new window.uPlot({
    width, height: opts.height ?? 180, legend: { show: opts.legend ?? true },
    cursor: { show: opts.legend ?? true },
    scales: { x: { time: opts.time ?? true } },
    axes: opts.axes ?? [axis, { ...axis, size: 50 }],
    series: [{}, ...series],
  }, data, container);
  state.charts.set(key, { u, container, n: series.length, scheme: scheme() });
}
function scheme() { return matchMedia("(prefers-color-scheme: dark)").matches ? "dark" : "light"; }
function thresholdSeries(label, color) { return { label, stroke: color, dash: [6, 4], width: 1.5, points: { show: false } }; }
new ResizeObserver(() => {
  for (const { u, container } of state.charts.values()) {
    const w = container.clientWidth; if (w && Math.abs(w - u.width) > 4) u.setSize({ width: w, height: u.height });
  }
}).observe(document.body);
matchMedia("(prefers-color-scheme: dark)").addEventListener("change", () => renderAll());

// ---- readiness ------------------------------------------------------------------------------
function components() {
  const c = state.readiness?.components;
  if (Array.isArray(c)) return c;
  if (c && typeof c === "object") return Object.entries(c).map(([name, v]) => ({ component: name, ...v }));
  return [];
}
function renderReadiness() {
  const r = state.readiness, g = state.gate ?? r?.gate;
  if (!r) { setPanel("readiness", "unknown", "Readiness unavailable"); return; }
  const comps = components();
  const counts = r.counts ?? {};
  const decision = g?.decision ?? "unknown";
  setPanel("readiness", r.status,
    `Overall ${norm(r.status).toUpperCase()} · gate ${decision} · ${comps.length} components (ok ${counts.ok ?? 0}, warn ${counts.warn ?? 0}, fail ${counts.fail ?? 0})`);
  const gate = $("#panel-readiness .gate"); gate.textContent = "";
  gate.append(el("p", {}, "Gate decision: ", el("strong", { class: "gate-decision", text: decision }), g?.generated_at ? " · " : "", g?.generated_at ? timeEl(g.generated_at) : ""));
  const reason = (x) => el("li", {}, el("code", { text: x.code ?? "" }), " ", x.message ?? x.reason ?? (typeof x === "string" ? x : ""));
  if (g?.blocking_reasons?.length) gate.append(el("div", {}, el("strong", { text: "Blocking reasons" }), el("ul", {}, g.blocking_reasons.map(reason))));
  if (g?.warnings?.length) gate.append(el("div", {}, el("strong", { text: "Warnings" }), el("ul", {}, g.warnings.map(reason))));
  renderComponentRows();
  renderIssues();
}
function renderComponentRows() {
  const tbody = $("#components-table tbody");
  const f = state.filter.toLowerCase();
  const now = Date.now();
  let rows = components().map((c) => {
    const name = c.component ?? c.name ?? "?";
    const obs = parseTime(c.observed_at);
    return { c, name, status: norm(c.status), age: obs ? (now - obs.getTime()) / 1000 : Infinity };
  });
  if (f) rows = rows.filter((x) => `${x.name} ${x.status} ${x.c.summary ?? ""}`.toLowerCase().includes(f));
  const { key, dir } = state.sort;
  const val = (x) => key === "component" ? x.name : key === "status" ? RANK[x.status] : key === "summary" ? (x.c.summary ?? "")
    : key === "observed_at" ? (parseTime(x.c.observed_at)?.getTime() ?? 0) : x.age;
  rows.sort((a, b) => { const va = val(a), vb = val(b); return (va < vb ? -1 : va > vb ? 1 : a.name.localeCompare(b.name)) * dir; });
  for (const th of $$("#components-table th[aria-sort]")) {
    th.setAttribute("aria-sort", $("button", th).dataset.sort === key ? (dir > 0 ? "ascending" : "descending") : "none");
  }
  tbody.textContent = "";
  const hist = state.history?.components ?? {};
  for (const x of rows) {
    const stale = x.c.stale === true;
    tbody.append(el("tr", { "data-component": x.name, "data-status": x.status },
      el("th", { scope: "row" }, el("code", { text: x.name })),
      el("td", {}, badge(x.status)),
      el("td", { class: "summary", text: x.c.summary ?? "" }),
      el("td", {}, timeEl(x.c.observed_at)),
      el("td", { class: stale ? "stale" : "" }, stale ? "STALE · " : "", Number.isFinite(x.age) ? ago(x.c.observed_at) : "–"),
      el("td", { class: "history" }, strip(hist[x.name]))));
  }
  if (!rows.length) tbody.append(el("tr", {}, el("td", { colspan: 6, text: f ? "No component matches the filter." : "No components reported yet." })));
}
function strip(buckets) {
  const h = state.history;
  if (!h) return el("span", { class: "muted", text: "history unavailable" });
  const n = 96, since = parseTime(h.since)?.getTime() ?? 0, size = (h.bucket_seconds ?? 900) * 1000;
  const slots = new Array(n).fill("none");
  for (const b of buckets ?? []) {
    const i = Math.floor(((parseTime(b.start)?.getTime() ?? 0) - since) / size);
    if (i >= 0 && i < n) slots[i] = norm(b.status);
  }
  const c = { ok: 0, warn: 0, fail: 0 };
  for (const s of slots) if (s in c) c[s]++;
  return el("div", { class: "strip", role: "img", "aria-label": `${state.window}: ${c.ok} ok, ${c.warn} warn, ${c.fail} fail buckets` },
    slots.map((s) => el("span", { class: s })));
}
function renderIssues() {
  const box = $("#panel-readiness .issues"); box.textContent = "";
  const issues = state.readiness?.issues ?? components().flatMap((c) => (c.issues ?? []).map((i) => ({ component: c.component, ...i })));
  if (!issues.length) { box.append(el("p", { class: "muted", text: "No open issues." })); return; }
  const prefix = $("#runbook-prefix").value.trim();
  box.append(el("ul", {}, issues.map((i) => {
    const comp = i.component ?? "";
    let rb = null;
    if (i.runbook) rb = el("a", { href: i.runbook, rel: "noreferrer", text: "runbook" });
    else if (RUNBOOKS.has(comp)) {
      const path = `docs/runbooks/${comp}.md`;
      rb = prefix ? el("a", { href: prefix + path, rel: "noreferrer", text: path }) : el("code", { text: path });
    }
    return el("li", {}, badge(i.severity === "critical" ? "fail" : i.severity === "warning" ? "warn" : "ok"), " ",
      el("code", { text: `${comp}/${i.code ?? ""}` }), " ", i.message ?? "", rb ? " · " : "", rb);
  })));
}

// ---- alerts ---------------------------------------------------------------------------------
function renderAlerts() {
  const a = state.alerts;
  if (!a) { setPanel("alerts", "unknown", "Alerts unavailable"); return; }
  const groups = a.groups ?? [];
  let active = 0, suppressed = 0, silenced = 0, inhibited = 0, acked = 0;
  const sev = [];
  for (const g of groups) {
    if (g.ack) acked++;
    for (const al of g.alerts ?? []) {
      const st = al.status?.state;
      if (st === "suppressed") suppressed++; else active++;
      if (al.status?.silencedBy?.length) silenced++;
      if (al.status?.inhibitedBy?.length) inhibited++;
      if (st !== "suppressed" && !g.ack) sev.push(al.labels?.severity === "critical" ? "fail" : "warn");
    }
  }
  const c = a.counts ?? {};
  const counts = { active: c.active ?? active, suppressed: c.suppressed ?? suppressed, silenced: c.silenced ?? silenced,
    inhibited: c.inhibited ?? inhibited, groups: c.groups ?? groups.length, acked: c.acked ?? acked };
  setPanel("alerts", sev.length ? worst(sev) : "ok",
    `${counts.active} active · ${counts.silenced} silenced · ${counts.inhibited} inhibited · ${counts.groups} groups (${counts.acked} acked)`);
  keepFocus(() => {
    const box = $("#panel-alerts .groups"); box.textContent = "";
    const byReceiver = new Map();
    for (const g of groups) {
      const r = g.receiver?.name ?? "(none)";
      if (!byReceiver.has(r)) byReceiver.set(r, []);
      byReceiver.get(r).push(g);
    }
    if (!groups.length) box.append(el("p", { class: "muted", text: "No alert groups." }));
    for (const [recv, list] of byReceiver) {
      box.append(el("div", { class: "receiver" }, el("h3", { text: `Receiver ${recv}` }), list.map(groupEl)));
    }
    const sbox = $("#panel-alerts .silences"); sbox.textContent = "";
    const sil = (a.silences ?? []).filter((s) => s.status?.state !== "expired");
    if (!sil.length) sbox.append(el("p", { class: "muted", text: "No active or pending silences." }));
    for (const s of sil) {
      const m = (s.matchers ?? []).map((x) => `${x.name}${x.isEqual === false ? "!" : ""}${x.isRegex ? "=~" : "="}"${x.value}"`).join(",");
      sbox.append(el("div", { class: "silence", "data-silence": s.id },
        el("span", { class: `st ${s.status?.state === "active" ? "warn" : "unknown"}`, text: (s.status?.state ?? "?").toUpperCase() }),
        el("code", { text: m }), el("span", { text: `by ${s.createdBy ?? "?"}: ${s.comment ?? ""}` }),
        el("span", {}, "until ", timeEl(s.endsAt)),
        el("button", { type: "button", "data-action": "expire-silence", "data-silence-id": s.id, "data-focus-key": `expire-${s.id}`,
          "aria-label": `Expire silence ${m}`, text: "Expire", onclick: () => expireSilence(s.id) })));
    }
  });
}
// {"steps", "fired", "receiver", "next_at"?, "next_receiver"?} of the dashboard's alerts event.
function escalationText(e) {
  const next = e.next_at ? `; next: ${e.next_receiver ?? "?"} at ${e.next_at.slice(11, 19)} UTC` : "";
  return `escalation ${e.fired ?? 0}/${e.steps ?? 0}${next}`;
}
function groupEl(g) {
  const alerts = g.alerts ?? [];
  const labels = g.labels ?? alerts[0]?.labels ?? {};
  const sev = alerts.map((x) => x.labels?.severity).filter(Boolean);
  const allSuppressed = alerts.length && alerts.every((x) => x.status?.state === "suppressed");
  const st = g.ack || allSuppressed ? "ok" : sev.includes("critical") ? "fail" : "warn";
  const id = g.id ?? g.key;
  const labelText = Object.entries(labels).map(([k, v]) => `${k}="${v}"`).join(", ") || g.key || id;
  return el("div", { class: "group", "data-group-id": id, "data-status": st },
    el("span", { class: `st ${st}`, text: g.ack ? "ACKED" : allSuppressed ? "SUPPRESSED" : (sev[0] ?? "active").toUpperCase() }),
    el("span", { class: "labels" }, el("code", { text: labelText })),
    el("span", { text: `${alerts.length} alert${alerts.length === 1 ? "" : "s"}` }),
    g.escalation ? el("span", { class: "escalation", text: escalationText(g.escalation) }) : null,
    g.ack ? el("button", { type: "button", "data-action": "unack", "data-focus-key": `unack-${id}`, "aria-label": `Unack ${labelText}`, text: "Unack", onclick: () => ack(id, false) })
      : el("button", { type: "button", "data-action": "ack", "data-focus-key": `ack-${id}`, "aria-label": `Ack ${labelText}`, text: "Ack",
        // The server takes an ack once the group's first notification went out (its incident is open).
        ...(g.ackable === false ? { disabled: "", title: "Not yet notified: an ack is possible after the group's first notification" } : {}),
        onclick: () => ack(id, true) }),
    g.ack ? el("span", { class: "ack-info" }, `acked by ${g.ack.by ?? "?"}${g.ack.comment ? ` (“${g.ack.comment}”)` : ""} `, timeEl(g.ack.at ?? g.ack.acknowledged_at)) : null);
}
function writeResult(ok, text) {
  const p = $("#panel-alerts .write-result");
  p.className = `write-result${ok ? "" : " error"}`;
  p.textContent = text;
}
async function refreshAlerts() {
  const [g, s] = await Promise.all([api("GET", "/api/v2/alerts/groups"), api("GET", "/api/v2/silences")]);
  if (g.ok || s.ok) { state.alerts = { ...(state.alerts ?? {}), groups: g.ok ? g.data : state.alerts?.groups ?? [], silences: s.ok ? s.data : state.alerts?.silences ?? [], counts: undefined }; renderAlerts(); }
}
async function ack(id, on) {
  const by = $("#silence-created-by").value.trim() || "dashboard";
  const r = await api(on ? "POST" : "DELETE", `/api/v1/groups/${encodeURIComponent(id)}/ack`,
    on ? { by, comment: "acknowledged from the dashboard", channel: "dashboard" } : { by, channel: "dashboard" });
  writeResult(r.ok, r.ok ? (on ? "Group acknowledged." : "Ack removed.") : `Failed (${r.status}): ${r.error}`);
  await refreshAlerts();
}
async function expireSilence(id) {
  const r = await api("DELETE", `/api/v2/silence/${encodeURIComponent(id)}`);
  writeResult(r.ok, r.ok ? "Silence expired." : `Failed (${r.status}): ${r.error}`);
  await refreshAlerts();
}
export function parseMatchers(text) {
  const out = [];
  const re = /\s*([A-Za-z_][A-Za-z0-9_]*)\s*(=~|!~|!=|=)\s*(?:"((?:[^"\\]|\\.)*)"|([^,]*))\s*(?:,|$)/y;
  let m;
  while (re.lastIndex < text.length && (m = re.exec(text))) {
    out.push({ name: m[1], value: (m[3] ?? m[4] ?? "").replace(/\\(.)/g, "$1").trim(), isRegex: m[2].includes("~"), isEqual: !m[2].startsWith("!") });
  }
  if (!out.length || re.lastIndex < text.trim().length) return null;
  return out;
}
function parseDuration(s) {
  const m = /^\s*(\d+(?:\.\d+)?)\s*(s|m|h|d)\s*$/.exec(s);
  return m ? Number(m[1]) * { s: 1, m: 60, h: 3600, d: 86400 }[m[2]] * 1000 : null;
}
$("#silence-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = ev.target;
  const matchers = parseMatchers(f.matchers.value);
  const ms = parseDuration(f.duration.value);
  if (!matchers) return writeResult(false, 'Matchers not understood: use name="value" or name=~"regex", separated by commas.');
  if (!ms) return writeResult(false, "Duration not understood: use e.g. 30m, 2h or 1d.");
  const now = new Date();
  const r = await api("POST", "/api/v2/silences", { matchers, startsAt: now.toISOString(),
    endsAt: new Date(now.getTime() + ms).toISOString(), createdBy: f.createdBy.value, comment: f.comment.value });
  writeResult(r.ok, r.ok ? `Silence ${r.data?.silenceID ?? ""} created.` : `Failed (${r.status}): ${r.error}`);
  await refreshAlerts();
});

// ---- incidents ------------------------------------------------------------------------------
function irThresholds() {
  const m = components().find((c) => c.component === "incident_response")?.metadata ?? {};
  const t = { ...IR_DEFAULT };
  for (const k of Object.keys(t)) {
    for (const cand of [m[`${k}_minutes`], m.thresholds?.[k], m.thresholds?.[`${k}_minutes`]]) if (typeof cand === "number") t[k] = cand;
  }
  return t;
}
function renderIncidents() {
  const d = state.incidents;
  if (!d) { setPanel("incidents", "unknown", "Incidents unavailable"); return; }
  const list = d.incidents ?? [];
  const open = list.filter((i) => !i.resolved_at);
  const t = irThresholds();
  const sum = d.summary ?? {};
  const mtta = sum.mtta?.mean?.minutes, mttr = sum.mttr?.mean?.minutes;
  const ir = components().find((c) => c.component === "incident_response");
  const st = ir ? ir.status : (mtta > t.mtta_fail || mttr > t.mttr_fail) ? "fail" : (mtta > t.mtta_warn || mttr > t.mttr_warn || open.length) ? "warn" : "ok";
  setPanel("incidents", st, `${open.length} open · ${list.length} in the last 7 days · MTTA ${mtta !== undefined ? mtta.toFixed(1) + " min" : "–"} · MTTR ${mttr !== undefined ? mttr.toFixed(1) + " min" : "–"}`);
  // Per ISO week (Monday) of opened_at.
  const weeks = new Map();
  for (const i of list) {
    const o = parseTime(i.opened_at); if (!o) continue;
    const day = (o.getUTCDay() + 6) % 7;
    const wk = Date.UTC(o.getUTCFullYear(), o.getUTCMonth(), o.getUTCDate() - day) / 1000;
    const w = weeks.get(wk) ?? { a: [], r: [] };
    if (typeof i.mtta_seconds === "number") w.a.push(i.mtta_seconds / 60);
    if (typeof i.mttr_seconds === "number") w.r.push(i.mttr_seconds / 60);
    weeks.set(wk, w);
  }
  const xs = [...weeks.keys()].sort((a, b) => a - b);
  const mean = (v) => (v.length ? v.reduce((a, b) => a + b, 0) / v.length : null);
  const box = $("#chart-incidents");
  if (xs.length) {
    const ok = cssVar("--chart-1"), c2 = cssVar("--chart-2"), w = cssVar("--warn"), f = cssVar("--fail");
    chart(box, "incidents", [
      { label: "MTTA min", stroke: ok, width: 2, points: { show: true, size: 7 } },
      { label: "MTTR min", stroke: c2, width: 2, points: { show: true, size: 7 } },
      thresholdSeries(`MTTA warn ${t.mtta_warn}`, w), thresholdSeries(`MTTA fail ${t.mtta_fail}`, f),
      thresholdSeries(`MTTR warn ${t.mttr_warn}`, w), thresholdSeries(`MTTR fail ${t.mttr_fail}`, f),
    ], [xs, xs.map((x) => mean(weeks.get(x).a)), xs.map((x) => mean(weeks.get(x).r)),
      xs.map(() => t.mtta_warn), xs.map(() => t.mtta_fail), xs.map(() => t.mttr_warn), xs.map(() => t.mttr_fail)]);
  } else { box.textContent = "No incidents to chart yet."; }
  const lb = $("#panel-incidents .incident-list"); lb.textContent = "";
  for (const i of list.slice(0, 30)) {
    const tl = el("div", { class: "timeline-box" });
    lb.append(el("div", { class: "incident", "data-incident-id": i.id },
      el("div", { class: "incident-head" }, badge(i.resolved_at ? "ok" : i.acknowledged_at ? "warn" : "fail"),
        el("span", { text: i.resolved_at ? "resolved" : i.acknowledged_at ? "open, acknowledged" : "open" }),
        el("code", { text: i.group ?? i.group_id ?? i.id }), el("span", { text: `receiver ${i.receiver ?? "?"}` }),
        el("span", {}, "opened ", timeEl(i.opened_at)),
        el("span", { text: `MTTA ${i.mtta_readable ?? "–"} · MTTR ${i.mttr_readable ?? "–"}` }),
        el("button", { type: "button", "aria-expanded": "false", text: "Timeline", onclick: (ev) => toggleTimeline(ev.currentTarget, i.id, tl) })),
      tl));
  }
  if (!list.length) lb.append(el("p", { class: "muted", text: "No incidents in the last 7 days." }));
}
async function toggleTimeline(btn, id, box) {
  if (btn.getAttribute("aria-expanded") === "true") { btn.setAttribute("aria-expanded", "false"); box.textContent = ""; return; }
  btn.setAttribute("aria-expanded", "true");
  const r = await api("GET", `/api/v1/incidents/${encodeURIComponent(id)}`);
  box.textContent = "";
  if (!r.ok) { box.append(el("p", { class: "muted", text: `Timeline unavailable (${r.status})` })); return; }
  box.append(el("ol", { class: "timeline" }, (r.data.events ?? []).map((e) =>
    el("li", {}, timeEl(e.at), " ", el("strong", { text: e.type ?? "" }), " ", [e.receiver, e.integration, e.by, e.channel, e.detail].filter(Boolean).join(" · ")))));
}

// ---- drills & sign-offs ---------------------------------------------------------------------
// GET /api/v1/drills (scenarios, the running drill, recent runs) and GET /api/v1/signoffs (every
// configured sign-off with its standing); neither is on the stream, so both are polled.
const VERDICT = { Pass: "ok", Fail: "fail", Aborted: "warn", Inconclusive: "warn" };
const STANDING = { ok: "OK", due_soon: "DUE SOON", overdue: "OVERDUE" };
// Seconds as people read them: "850 ms", "4.2 s", "3 min 20 s", "2 h 5 min", "3 d 4 h".
function span(s) {
  if (typeof s !== "number" || !Number.isFinite(s) || s < 0) return "–";
  if (s < 1) return `${Math.round(s * 1000)} ms`;
  if (s < 60) return `${s < 10 ? s.toFixed(1) : Math.round(s)} s`;
  const two = (a, ua, b, ub) => (b ? `${a} ${ua} ${b} ${ub}` : `${a} ${ua}`);
  const t = Math.round(s);
  if (t < 3600) return two(Math.floor(t / 60), "min", t % 60, "s");
  if (t < 86400) return two(Math.floor(t / 3600), "h", Math.floor((t % 3600) / 60), "min");
  return two(Math.floor(t / 86400), "d", Math.floor((t % 86400) / 3600), "h");
}
function verdictStatus(run) { return run.verdict ? VERDICT[run.verdict] ?? "unknown" : "unknown"; }
function standingStatus(s) { return s.state === "ok" ? "ok" : s.state === "due_soon" ? "warn" : s.state === "overdue" ? norm(s.overdue_status ?? "fail") : "unknown"; }
function tableOf(caption, heads, rows) {
  return el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": `${caption} (scrolls sideways)` },
    el("table", {}, el("caption", { class: "visually-hidden", text: caption }),
      el("thead", {}, el("tr", {}, heads.map((h) => el("th", { scope: "col", text: h })))), el("tbody", {}, rows)));
}
function renderDrills() {
  const d = state.drills, so = state.signoffs;
  const runsBox = $("#panel-drills .drill-runs"), scBox = $("#panel-drills .drill-scenarios"), soBox = $("#panel-drills .signoffs");
  runsBox.textContent = ""; scBox.textContent = ""; soBox.textContent = "";
  const parts = [], statuses = [];
  if (!d) {
    runsBox.append(el("p", { class: "muted", text: `Drills unavailable${state.drillsError ? ` (${state.drillsError})` : ""}.` }));
  } else {
    const runs = d.runs ?? [], scenarios = d.scenarios ?? [];
    // The panel's colour: the newest finished run of each scenario.
    const latest = new Map();
    for (const r of runs) if (r.verdict && !latest.has(r.scenario)) latest.set(r.scenario, r);
    for (const r of latest.values()) statuses.push(verdictStatus(r));
    parts.push(d.running ? `drill ${d.running.scenario ?? d.running.drill_id ?? ""} running` : `${runs.length} recent run${runs.length === 1 ? "" : "s"}`);
    const last = runs.find((r) => r.verdict);
    if (last) parts.push(`last: ${last.scenario} ${last.verdict}`);
    if (!runs.length) {
      const name = scenarios.length === 1 ? scenarios[0].name : "SCENARIO";
      runsBox.append(el("p", { class: "muted empty" }, "No drills run yet — ", el("code", { text: `opsready drill run ${name}` })));
    } else {
      runsBox.append(tableOf("Recent drill runs", ["Scenario", "Verdict", "Injected", "MTTD", "MTTA", "MTTR", "Failed step / reason", "Evidence"],
        runs.slice(0, 20).map((r) => {
          const st = verdictStatus(r);
          const href = `/api/v1/drills/${encodeURIComponent(r.drill_id ?? "")}`;
          const why = r.verdict && r.verdict !== "Pass" ? [r.failed_step, r.reason].filter(Boolean).join(": ") : "";
          return el("tr", { "data-drill-id": r.drill_id, "data-status": st },
            el("td", {}, el("code", { text: r.scenario ?? "?" })),
            el("td", {}, el("span", { class: `st ${st}`, text: (r.verdict ?? "running").toUpperCase() })),
            el("td", {}, r.injected_at ? timeEl(r.injected_at) : el("span", { class: "muted", text: r.verdict ? "not injected" : "–" })),
            el("td", { class: "num", text: span(r.mttd_seconds) }),
            el("td", { class: "num", text: span(r.mtta_seconds) }),
            el("td", { class: "num", text: span(r.mttr_seconds) }),
            el("td", { class: "summary", text: why }),
            el("td", {}, el("a", { href, "aria-label": `Evidence of ${r.drill_id} as JSON`, text: "JSON" }), " · ",
              el("a", { href: `${href}?format=markdown`, "aria-label": `Evidence of ${r.drill_id} as Markdown`, text: "Markdown" })));
        })));
    }
    if (!scenarios.length) scBox.append(el("p", { class: "muted empty", text: "No drill scenarios configured (drills.scenarios in the configuration)." }));
    else {
      scBox.append(el("ul", { class: "list scenarios" }, scenarios.map((s) => {
        const f = s.fault ?? {};
        const what = f.topics?.length ? ` ${f.topics.join(", ")}` : f.receiver ? ` ${f.receiver}` : "";
        const expect = s.expect?.alert ? ` · expects ${s.expect.alert} within ${s.expect.within ?? "?"}` : "";
        return el("li", { "data-scenario": s.name }, el("code", { text: s.name ?? "?" }), " ",
          `${f.kind ?? "?"}${what} for ${f.duration ?? "?"}${expect}`, s.description ? el("div", { class: "muted", text: s.description }) : null);
      })));
    }
  }
  if (!so) {
    soBox.append(el("p", { class: "muted", text: `Sign-offs unavailable${state.signoffsError ? ` (${state.signoffsError})` : ""}.` }));
  } else {
    const list = so.signoffs ?? [];
    const n = { ok: 0, due_soon: 0, overdue: 0 };
    for (const s of list) { if (s.state in n) n[s.state]++; statuses.push(standingStatus(s)); }
    parts.push(list.length ? `sign-offs: ${n.ok} ok, ${n.due_soon} due soon, ${n.overdue} overdue` : "no sign-offs configured");
    if (!list.length) soBox.append(el("p", { class: "muted empty", text: "No sign-offs configured (compliance.signoffs in the configuration)." }));
    else {
      soBox.append(tableOf("Sign-offs", ["Sign-off", "Owner", "Kind", "Every", "Last completed", "Due", "Standing"], list.map((s) => {
        const st = standingStatus(s);
        const ev = s.last?.evidence ?? "";
        // Evidence is whatever was recorded: a link only when it is an http(s) URL.
        const evEl = !ev ? null : /^https?:\/\//i.test(ev) ? el("a", { href: ev, rel: "noreferrer", text: "evidence" }) : el("span", { class: "muted", text: ev });
        return el("tr", { "data-signoff": s.name, "data-status": st },
          el("td", {}, el("code", { text: s.name ?? "?" }), s.description ? el("div", { class: "muted", text: s.description }) : null),
          el("td", { text: s.owner ?? "" }),
          el("td", { text: String(s.kind ?? "").replaceAll("_", " ") }),
          el("td", { text: s.every ?? "" }),
          el("td", {}, s.last ? [timeEl(s.last.at), ` by ${s.last.by ?? "?"}`, evEl ? " · " : null, evEl] : el("span", { class: "muted", text: "never recorded" })),
          el("td", {}, s.due_at ? timeEl(s.due_at) : el("span", { class: "muted", text: "now (never done)" })),
          el("td", {}, el("span", { class: `st ${st}`, text: STANDING[s.state] ?? String(s.state ?? "?").toUpperCase() })));
      })));
    }
  }
  setPanel("drills", statuses.length ? worst(statuses) : "unknown", parts.join(" · ") || "Drills and sign-offs unavailable");
}
async function refreshDrills() {
  const [d, s] = await Promise.all([api("GET", "/api/v1/drills?limit=20"), api("GET", "/api/v1/signoffs?limit=1")]);
  state.drills = d.ok ? d.data : null; state.drillsError = d.ok ? "" : `${d.status || "network"}: ${d.error}`;
  state.signoffs = s.ok ? s.data : null; state.signoffsError = s.ok ? "" : `${s.status || "network"}: ${s.error}`;
  renderDrills();
}

// ---- drift ----------------------------------------------------------------------------------
const DRIFT = ["drift_sentry", "sensory_drift"];
function driftMetrics(meta) {
  const m = meta?.metrics ?? meta?.series ?? meta?.dimensions;
  if (Array.isArray(m)) return m.map((x) => [x.name ?? x.series ?? x.dimension ?? "?", x]);
  if (m && typeof m === "object") return Object.entries(m);
  return [];
}
function renderDrift() {
  const box = $("#panel-drift .drift-series");
  const comps = DRIFT.map((n) => components().find((c) => c.component === n)).filter(Boolean);
  if (!comps.length) { setPanel("drift", "unknown", "No drift component has reported (drift_sentry, sensory_drift)."); box.textContent = ""; return; }
  let n = 0;
  const seen = new Set();
  for (const c of comps) {
    const snaps = [...(state.drift[c.component] ?? [])];
    if (!snaps.length || snaps[snaps.length - 1].observed_at !== c.observed_at) snaps.push(c);
    const cfg = c.metadata?.config ?? {};
    const series = new Map();
    for (const s of snaps) {
      const t = (parseTime(s.observed_at)?.getTime() ?? 0) / 1000;
      for (const [name, m] of driftMetrics(s.metadata)) {
        if (!series.has(name)) series.set(name, []);
        const stat = m.page_hinkley_stat ?? m.cusum_stat ?? m.statistic ?? m.stat ?? null;
        const raw = m.evaluation_mean ?? m.value ?? m.mean ?? m.raw ?? null;
        series.get(name).push({ t, stat, raw, sev: norm(m.severity === "alert" ? "fail" : m.severity === "warn" ? "warn" : m.severity ?? "ok"), m });
      }
    }
    for (const [name, pts] of series) {
      n++;
      const key = `drift-${c.component}-${name}`;
      seen.add(key);
      let wrap = document.getElementById(key);
      if (!wrap) {
        wrap = el("div", { class: "drift-one", id: key },
          el("h3", {}, el("code", { text: `${c.component} · ${name}` }), " ", el("span", { class: "sev" })),
          el("p", { class: "muted small" }), el("div", { class: "chart", role: "img", "aria-label": `${name}: drift statistic and raw value over time with thresholds` }));
        box.append(wrap);
      }
      const last = pts[pts.length - 1];
      const sevEl = $(".sev", wrap); sevEl.replaceChildren(badge(last.sev));
      const usesPH = last.m.page_hinkley_stat !== undefined;
      const warn = last.m.warn ?? last.m.warn_threshold ?? (usesPH ? cfg.page_hinkley_warn : cfg.cusum_warn) ?? null;
      const alert = last.m.alert ?? last.m.alert_threshold ?? (usesPH ? cfg.page_hinkley_alert : cfg.cusum_alert) ?? null;
      $("p", wrap).textContent = `${usesPH ? "Page-Hinkley" : "CUSUM"} statistic ${fmt(last.stat)} (warn ${fmt(warn)}, alert ${fmt(alert)}) · raw ${fmt(last.raw)} · ${pts.filter((p) => p.sev !== "ok").length} detections`;
      const xs = pts.map((p) => p.t);
      chart($(".chart", wrap), key, [
        { label: "statistic", stroke: cssVar("--chart-1"), width: 2, points: { show: true, size: 5 } },
        { label: "raw value", stroke: cssVar("--chart-2"), width: 1.5, scale: "raw" },
        thresholdSeries("warn", cssVar("--warn")), thresholdSeries("alert", cssVar("--fail")),
        { label: "detection", stroke: cssVar("--fail"), width: 0, points: { show: true, size: 9, fill: cssVar("--fail") } },
      ], [xs, pts.map((p) => p.stat), pts.map((p) => p.raw), xs.map(() => warn), xs.map(() => alert),
        pts.map((p) => (p.sev !== "ok" ? p.stat : null))], { height: 160 });
    }
  }
  for (const w of $$(".drift-one", box)) if (!seen.has(w.id)) w.remove();
  setPanel("drift", worst(comps.map((c) => norm(c.status))), `${n} series from ${comps.map((c) => c.component).join(", ")} · ${comps.map((c) => c.summary).filter(Boolean).join(" · ")}`);
  if (!n && !$(".muted.none", box)) box.append(el("p", { class: "muted none", text: "No drift series in the snapshots yet." }));
}
async function refreshDrift() {
  const since = new Date(Date.now() - 24 * 3600e3).toISOString();
  await Promise.all(DRIFT.map(async (name) => {
    const r = await api("GET", `/api/v1/components/${name}/history?since=${encodeURIComponent(since)}&limit=500`);
    if (r.ok) state.drift[name] = r.data?.snapshots ?? [];
  }));
  renderDrift();
}

// ---- SLOs -----------------------------------------------------------------------------------
function renderSlos() {
  const c = components().find((x) => x.component === "ingest_slos");
  const body = $("#panel-slos .body"); body.textContent = "";
  if (!c) { setPanel("slos", "unknown", "ingest_slos has not reported."); return; }
  setPanel("slos", c.status, c.summary ?? "");
  const m = c.metadata ?? {};
  const slos = m.slos ?? m.records ?? m.results ?? [];
  const rows = [];
  const walk = (obj, path) => {
    if (!obj || typeof obj !== "object") return;
    if (obj.burn_rate !== undefined) rows.push({ name: path, ...obj });
    for (const [k, v] of Object.entries(obj)) if (typeof v === "object") walk(v, obj.name ?? (Array.isArray(obj) ? path : `${path ? path + "." : ""}${k}`));
  };
  walk(slos.length !== undefined ? slos : m, "");
  if (rows.length) {
    body.append(el("div", { class: "table-wrap", tabindex: "0", role: "region", "aria-label": "Burn rates (scrolls sideways)" }, el("table", {}, el("caption", { class: "visually-hidden", text: "Burn rates" }),
      el("thead", {}, el("tr", {}, ["SLO / window", "Status", "Burn rate", "Page at", "Ticket at"].map((h) => el("th", { scope: "col", text: h })))),
      el("tbody", {}, rows.slice(0, 40).map((r) => el("tr", { "data-status": norm(r.status) },
        el("td", {}, el("code", { text: `${r.name ?? ""}${r.window ? " · " + r.window : ""}` })), el("td", {}, badge(r.status ?? "unknown")),
        el("td", { text: fmt(r.burn_rate) }), el("td", { text: fmt(r.page ?? r.page_threshold ?? r.page_burn_rate) }),
        el("td", { text: fmt(r.ticket ?? r.ticket_threshold ?? r.ticket_burn_rate) })))))));
  }
  const ih = m.ingest_health;
  if (ih && typeof ih === "object") body.append(el("h3", { text: "Ingest freshness and latency" }), kv(ih));
  body.append(rawDetails("All SLO metadata", m));
}

// ---- ingest & bus ---------------------------------------------------------------------------
function onStats(s) {
  state.stats.push({ ...s, t: (parseTime(s.at)?.getTime() ?? Date.now()) / 1000 });
  if (state.stats.length > 300) state.stats.shift();
  renderIngest();
}
function renderIngest() {
  const h = state.stats, s = h[h.length - 1];
  const eb = components().find((c) => c.component === "event_bus");
  if (!s) { if (eb) setPanel("ingest-bus", eb.status, eb.summary); return; }
  const rate = (f) => h.map((x, i) => { if (!i) return null; const dt = x.t - h[i - 1].t; return dt > 0 ? Math.max(0, (f(x) - f(h[i - 1])) / dt) : null; });
  const http = rate((x) => x.events_total?.http ?? 0), nats = rate((x) => x.events_total?.nats ?? 0), lib = rate((x) => x.events_total?.library ?? 0);
  const refused = rate((x) => Object.values(x.refused_total ?? {}).reduce((a, b) => a + (b || 0), 0));
  const q = s.queue ?? {};
  const st = s.nats?.connected === false ? "fail" : (q.capacity && q.depth / q.capacity > 0.8) || (refused[refused.length - 1] ?? 0) > 0 ? "warn" : eb ? norm(eb.status) : "ok";
  const last = (a) => a[a.length - 1] ?? 0;
  setPanel("ingest-bus", st, `${(last(http) + last(nats) + last(lib)).toFixed(1)} events/s · queue ${q.depth ?? "–"}/${q.capacity ?? "–"} · NATS ${s.nats?.connected === true ? "connected" : s.nats?.connected === false ? "DISCONNECTED" : "not configured"}`);
  const dl = $("#panel-ingest-bus .stats");
  dl.replaceWith(kv({ "events/s http": last(http), "events/s nats": last(nats), "events/s library": last(lib), "queue depth": `${q.depth ?? "–"} of ${q.capacity ?? "–"}`,
    "refused (429) total": Object.entries(s.refused_total ?? {}).map(([k, v]) => `${k} ${v}`).join(", ") || "0",
    "NATS connection": s.nats?.connected === null || s.nats?.connected === undefined ? "not configured" : s.nats.connected ? "connected" : "disconnected",
    "consumer lag": s.nats?.consumer_pending ?? "–", "spool pending": s.spool_pending ?? "–",
    notifications: s.notifications ? `${s.notifications.pending ?? 0} pending, ${s.notifications.sent_total ?? 0} sent, ${s.notifications.failed_total ?? 0} failed` : "–" }));
  $("#panel-ingest-bus dl.kv").classList.add("stats");
  const xs = h.map((x) => x.t);
  const sparks = $("#panel-ingest-bus .sparks");
  const spark = (key, title, ys) => {
    let box = document.getElementById(key);
    if (!box) { sparks.append(el("div", { class: "spark" }, el("h3", { text: title }), box = el("div", { class: "chart", id: key, role: "img", "aria-label": title }))); }
    const hidden = { show: false };
    chart(box, key, [{ label: title, stroke: cssVar("--chart-1"), width: 1.5, fill: cssVar("--chart-grid") }], [xs, ys],
      { height: 60, legend: false, axes: [hidden, { show: true, size: 40, stroke: cssVar("--muted"), grid: { show: false }, ticks: { show: false } }] });
  };
  spark("spark-http", "HTTP events/s", http);
  spark("spark-nats", "NATS events/s", nats);
  spark("spark-queue", "Queue depth", h.map((x) => x.queue?.depth ?? null));
  spark("spark-refused", "Refused (429)/s", refused);
  spark("spark-lag", "Consumer lag", h.map((x) => x.nats?.consumer_pending ?? null));
  spark("spark-spool", "Spool pending", h.map((x) => x.spool_pending ?? null));
}

// ---- supervision ----------------------------------------------------------------------------
function renderSupervision() {
  const s = state.supervision;
  const body = $("#panel-supervision .body"); body.textContent = "";
  if (!s) { setPanel("supervision", "unknown", "Supervision unavailable"); return; }
  const tasks = s.tasks ?? [];
  const tstat = (t) => { const x = String(t.state ?? "").toLowerCase(); return ["failed", "crashed", "gave_up", "given_up", "dead"].includes(x) ? "fail" : ["restarting", "backoff", "degraded", "stopping"].includes(x) || t.last_error ? "warn" : norm(x) === "unknown" ? "ok" : norm(x); };
  const counts = Object.entries(s.counts ?? {}).map(([k, v]) => `${v} ${k}`).join(", ");
  setPanel("supervision", tasks.length ? worst(tasks.map(tstat)) : "unknown", `${tasks.length} tasks${counts ? " · " + counts : ""} · ${tasks.reduce((a, t) => a + (t.restarts ?? 0), 0)} restarts`);
  const root = { kids: new Map() };
  for (const t of tasks) {
    let node = root;
    for (const part of String(t.path ?? t.name ?? "?").split("/").filter(Boolean)) {
      if (!node.kids.has(part)) node.kids.set(part, { kids: new Map() });
      node = node.kids.get(part);
    }
    node.task = t;
  }
  const render = (node) => el("ul", { class: "tree" }, [...node.kids].map(([name, k]) => el("li", {},
    k.task ? badge(tstat(k.task)) : "", " ", el("code", { text: name }),
    k.task ? ` ${k.task.state ?? ""} · ${k.task.restarts ?? 0} restarts${k.task.uptime_seconds !== undefined ? ` · up ${Math.round(k.task.uptime_seconds)} s` : ""}` : "",
    k.task?.last_error ? el("div", { class: "muted" }, `last error: ${k.task.last_error}`) : null,
    k.kids.size ? render(k) : null)));
  body.append(render(root));
}

// ---- the original's panels ------------------------------------------------------------------
function renderOriginal() {
  const d = state.dashboard;
  const other = $(".other-grid"); other.textContent = "";
  if (!d) { for (const slug of Object.values(ORIGINAL)) setPanel(slug, "unknown", "Dashboard data unavailable"); return; }
  const seen = new Set();
  for (const p of d.panels ?? []) {
    const slug = ORIGINAL[p.name];
    let sec;
    if (slug) { sec = setPanel(slug, p.status, p.headline ?? ""); seen.add(slug); }
    else {
      const s = `other-${String(p.name).toLowerCase().replace(/[^a-z0-9]+/g, "-")}`;
      sec = el("section", { class: "panel original", id: `panel-${s}`, "data-panel": s, "aria-labelledby": `h-${s}` },
        el("div", { class: "panel-head" }, el("h3", { id: `h-${s}`, text: p.name }), el("span", { class: "status-badge" })),
        el("p", { class: "headline" }), el("div", { class: "body" }));
      other.append(sec);
      setPanel(s, p.status, p.headline ?? "");
    }
    const body = $(".body", sec); body.textContent = "";
    const det = p.details;
    if (Array.isArray(det) && det.length) body.append(el("ul", { class: "list" }, det.map((x) => el("li", { text: typeof x === "string" ? x : JSON.stringify(x) }))));
    else if (typeof det === "string" && det) body.append(el("p", { text: det }));
    else if (det && typeof det === "object") body.append(kv(det));
    if (p.metadata && typeof p.metadata === "object") { body.append(kv(p.metadata)); const r = rawDetails("Metadata", p.metadata); if (r) body.append(r); }
  }
  for (const slug of Object.values(ORIGINAL)) if (!seen.has(slug)) setPanel(slug, "unknown", "Not in the dashboard document");
  $(".other-panels").hidden = !other.children.length;
  $("#generated-at").replaceWith(Object.assign(timeEl(d.generated_at), { id: "generated-at" }));
}

// ---- data flow ------------------------------------------------------------------------------
function renderAll() {
  for (const [name, fn] of [["readiness", renderReadiness], ["alerts", renderAlerts], ["incidents", renderIncidents], ["drills", renderDrills], ["drift", renderDrift],
    ["slos", renderSlos], ["ingest", renderIngest], ["supervision", renderSupervision], ["original", renderOriginal]]) {
    try { fn(); } catch (e) { console.error(`render ${name}`, e); }
  }
}
async function refreshHistory() {
  const r = await api("GET", `/api/v1/components/history?window=${state.window}`);
  state.history = r.ok ? r.data : null;
  renderComponentRows();
}
async function refreshAll() {
  const [rd, gt, db, sv, inc] = await Promise.all(["/api/v1/readiness", "/api/v1/gate", "/api/v1/dashboard", "/api/v1/supervision", "/api/v1/incidents"].map((p) => api("GET", p)));
  // The stream's snapshot is the one its deltas apply to: a read does not replace it.
  if (rd.ok && state.readinessVersion === undefined) state.readiness = rd.data;
  if (gt.ok) state.gate = gt.data;
  state.dashboard = db.ok ? db.data : state.dashboard;
  if (sv.ok) state.supervision = sv.data;
  if (inc.ok) state.incidents = inc.data;
  renderAll();
  await Promise.all([refreshAlerts(), refreshHistory(), refreshDrift(), refreshDrills()]);
}

function setConnection(s, text) {
  const c = $("#connection");
  c.dataset.state = s;
  $(".text", c).textContent = text;
}
let everOpened = false, source = null, useFallback = false;
function connect() {
  setConnection(everOpened ? "lost" : "connecting", everOpened ? "Connection lost: reconnecting…" : "Connecting…");
  // The dashboard stream; the readiness stream while a daemon without it runs.
  source = new EventSource(useFallback ? "/api/v1/readiness/stream" : "/api/v1/dashboard/stream");
  state.readinessVersion = undefined;
  let opened = false;
  source.onopen = () => {
    opened = true;
    setConnection("open", "Live");
    if (everOpened) refreshAll();
    everOpened = true;
  };
  source.onerror = () => {
    if (source.readyState === EventSource.CLOSED) {
      if (!opened && !everOpened) useFallback = !useFallback;
      setConnection(everOpened ? "lost" : "connecting", everOpened ? "Connection lost: reconnecting…" : "Connecting…");
      setTimeout(connect, 2000);
    } else {
      setConnection(everOpened ? "lost" : "connecting", everOpened ? "Connection lost: reconnecting…" : "Connecting…");
    }
  };
  const on = (name, fn) => source.addEventListener(name, (ev) => { try { fn(JSON.parse(ev.data)); } catch (e) { console.error(name, e); } });
  const readinessChanged = () => { renderReadiness(); renderDrift(); renderSlos(); renderIncidents(); };
  on("readiness", (d) => { state.readiness = d; state.readinessVersion = d.version; if (d.gate) state.gate = d.gate; readinessChanged(); });
  // What changed since the snapshot of d.base; one that does not follow ours means we missed
  // one, and a new stream starts again from a whole snapshot.
  on("readiness_delta", (d) => {
    const r = state.readiness;
    if (!r || d.base !== state.readinessVersion) { source.close(); connect(); return; }
    const byName = new Map(r.components.map((c) => [c.component, c]));
    for (const name of d.removed) byName.delete(name);
    for (const c of d.components) byName.set(c.component, c);
    r.components = [...byName.values()].sort((a, b) => (a.component < b.component ? -1 : a.component > b.component ? 1 : 0));
    r.issues = r.components.flatMap((c) => (c.issues ?? []).map((i) => ({ ...i, component: c.component })));
    Object.assign(r, { generated_at: d.generated_at, status: d.status, counts: d.counts });
    if (d.gate) { r.gate = d.gate; state.gate = d.gate; }
    state.readinessVersion = d.version;
    readinessChanged();
  });
  on("dashboard", (d) => { state.dashboard = d; renderOriginal(); });
  on("alerts", (d) => { state.alerts = d; renderAlerts(); });
  on("stats", onStats);
  on("supervision", (d) => { state.supervision = d; renderSupervision(); });
}

// ---- controls -------------------------------------------------------------------------------
for (const b of $$("#components-table th button")) {
  b.addEventListener("click", () => {
    const k = b.dataset.sort;
    state.sort = { key: k, dir: state.sort.key === k ? -state.sort.dir : k === "status" || k === "age" ? -1 : 1 };
    renderComponentRows();
  });
}
$("#component-filter").addEventListener("input", (e) => { state.filter = e.target.value; renderComponentRows(); });
for (const b of $$(".history-toggle button")) {
  b.addEventListener("click", () => {
    state.window = b.dataset.window;
    for (const o of $$(".history-toggle button")) o.setAttribute("aria-pressed", String(o === b));
    $(".history-window").textContent = state.window === "24h" ? "24 h" : "7 d";
    refreshHistory();
  });
}
const token = $("#api-token");
token.value = sessionStorage.getItem("opsready.token") ?? "";
token.addEventListener("change", () => sessionStorage.setItem("opsready.token", token.value));
const prefix = $("#runbook-prefix");
prefix.value = localStorage.getItem("opsready.runbookPrefix") ?? "";
prefix.addEventListener("change", () => { localStorage.setItem("opsready.runbookPrefix", prefix.value); renderIssues(); });

connect();
refreshAll();
setInterval(refreshTimes, 10000);
setInterval(() => { if (document.visibilityState === "visible") { api("GET", "/api/v1/incidents").then((r) => { if (r.ok) { state.incidents = r.data; renderIncidents(); } }); refreshHistory(); refreshDrift(); } }, 60000);
// Drills and sign-offs: every 5 s while a drill runs, else every 15 s.
let drillPolls = 0;
setInterval(() => { if (document.visibilityState === "visible" && (state.drills?.running || ++drillPolls % 3 === 0)) refreshDrills(); }, 5000);
// Without the dashboard stream (fallback), alerts and the original's panels are polled.
setInterval(() => { if (useFallback) { refreshAlerts(); api("GET", "/api/v1/dashboard").then((r) => { if (r.ok) { state.dashboard = r.data; renderOriginal(); } }); } }, 5000);
