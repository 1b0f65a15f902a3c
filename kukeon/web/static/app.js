// kukeon's read-only Web UI: one page, hash routes, data from /api/ (polled JSON and
// server-sent events). Everything is built with createElement/textContent, never
// innerHTML, so whatever a manifest, an event or a log line holds is shown as text.
"use strict";

const TOKEN = new URLSearchParams(location.search).get("token") || "";
const POLL_MS = 1000;
const LOG_MAX_CHARS = 256 * 1024;

function withToken(url) {
  if (!TOKEN) return url;
  return url + (url.includes("?") ? "&" : "?") + "token=" + encodeURIComponent(TOKEN);
}

async function getJSON(url) {
  const resp = await fetch(url, { headers: TOKEN ? { Authorization: "Bearer " + TOKEN } : {} });
  const text = await resp.text();
  if (!resp.ok) {
    let msg = text;
    try { msg = JSON.parse(text).error; } catch (e) { /* not JSON: show as is */ }
    throw new Error(resp.status + ": " + msg);
  }
  return { text: text, data: JSON.parse(text) };
}

// h("td", {class: "x", dataset: {path: p}}, "text", child, [more]) -> element
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === null || v === undefined || v === false) continue;
    if (k === "dataset") Object.assign(el.dataset, v);
    else if (k === "onclick") el.addEventListener("click", v);
    else el.setAttribute(k, String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

const phase = (p) => h("span", { class: "phase phase-" + p }, p || "?");
const bytes = (n) => {
  if (n === null || n === undefined) return "";
  const units = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) { n /= 1024; i++; }
  return (i ? n.toFixed(1) : n) + " " + units[i];
};
const when = (t) => (t ? new Date(t * 1000).toLocaleTimeString() : "");
const labels = (m) => Object.entries(m || {}).map(([k, v]) => h("span", { class: "label" }, k + "=" + v));
const cellLink = (path, text) => h("a", { href: "#/cell/" + encodeURIComponent(path) }, text || path);
const table = (heads, rows) => h("table", {}, h("thead", {}, h("tr", {}, heads.map((x) => h("th", {}, x)))), h("tbody", {}, rows));

// -- a view: render() on a timer, plus cleanups (streams) when the route changes --------
let current = null;

class View {
  constructor() { this.timers = []; this.sources = []; this.seen = {}; this.alive = true; }
  poll(url, render, every) {
    const tick = async () => {
      if (!this.alive) return;
      try {
        const { text, data } = await getJSON(url);
        if (this.seen[url] !== text) { this.seen[url] = text; render(data); }
      } catch (e) {
        render(null, e);
      }
      if (this.alive) this.timers.push(setTimeout(tick, every || POLL_MS));
    };
    tick();
  }
  stream(url, onData) {
    const es = new EventSource(withToken(url));
    es.onmessage = (m) => onData(JSON.parse(m.data));
    this.sources.push(es);
    return es;
  }
  close() {
    this.alive = false;
    this.timers.forEach(clearTimeout);
    this.sources.forEach((s) => s.close());
  }
}

function fill(el, ...children) { el.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined)); }
function problem(err) { return h("p", { class: "problem" }, String(err.message || err)); }

// -- pages --------------------------------------------------------------------------------
function hierarchyPage(view, root) {
  const title = h("h1", {}, "Hierarchy");
  const body = h("div", { id: "hierarchy" });
  fill(root, title, body);
  view.poll("/api/hierarchy", (data, err) => {
    if (err) return fill(body, problem(err));
    const rows = [];
    const walk = (node, depth) => {
      const isCell = node.kind === "Cell";
      const running = node.containers.filter((c) => c.state === "running").length;
      rows.push(h("tr", { class: "kind-" + node.kind, dataset: { path: node.path, kind: node.kind } },
        h("td", { style: null }, h("span", { class: "indent", dataset: { depth: depth } }, "\u2003".repeat(depth)),
          isCell ? cellLink(node.path, node.name) : node.name),
        h("td", {}, node.kind),
        h("td", {}, phase(node.phase), node.reason ? h("span", { class: "muted" }, " " + node.reason) : null),
        h("td", {}, node.ip),
        h("td", { class: "num" }, isCell ? running + "/" + node.containers.length : ""),
        h("td", { class: "num" }, isCell ? node.containers.reduce((a, c) => a + c.restartCount, 0) : ""),
        h("td", { class: "num" }, bytes(node.memoryBytes)),
        h("td", { class: "num" }, node.pids === null ? "" : node.pids),
        h("td", {}, labels(node.labels))));
      for (const c of node.containers) {
        rows.push(h("tr", { class: "kind-Container", dataset: { path: node.path + "/" + c.name, kind: "Container" } },
          h("td", {}, "\u2003".repeat(depth + 1), c.name),
          h("td", {}, "Container"),
          h("td", {}, phase(c.state), c.exitCode !== null ? h("span", { class: "muted" }, " exit " + c.exitCode) : null),
          h("td", { class: "muted" }, c.image),
          h("td", { class: "num" }, c.pid || ""),
          h("td", { class: "num" }, c.restartCount),
          h("td", {}), h("td", {}), h("td", {})));
      }
      node.children.forEach((ch) => walk(ch, depth + 1));
    };
    data.realms.forEach((r) => walk(r, 0));
    fill(body, table(["Name", "Kind", "Phase", "IP / image", "Running", "Restarts", "Memory", "PIDs", "Labels"], rows),
      h("p", { class: "muted" }, "as of pass " + data.pass));
  });
}

function cellPage(view, root, path) {
  const head = h("div");
  const containers = h("div");
  const events = h("div");
  const manifest = h("pre", { id: "manifest" });
  const tabs = h("div", { class: "tabs" });
  const logText = document.createTextNode("");
  const log = h("pre", { class: "log", id: "log" }, logText);
  fill(root, h("h1", {}, path), head,
    h("h2", {}, "Containers"), containers,
    h("h2", {}, "Log"), tabs, log,
    h("div", { class: "grid" },
      h("div", {}, h("h2", {}, "Recent events"), events),
      h("div", {}, h("h2", {}, "Spec (manifest)"), manifest)));

  let logStream = null;
  let logFor = null;
  const follow = (container) => {
    if (logFor === container) return;
    logFor = container;
    if (logStream) logStream.close();
    logText.data = "";
    Array.from(tabs.children).forEach((b) => b.classList.toggle("active", b.dataset.container === container));
    const url = "/api/logs/stream?cell=" + encodeURIComponent(path) + "&container=" + encodeURIComponent(container) + "&tail=200";
    logStream = view.stream(url, (d) => {
      const atEnd = log.scrollTop + log.clientHeight >= log.scrollHeight - 4;
      logText.appendData(d.text);
      if (logText.length > LOG_MAX_CHARS) logText.deleteData(0, logText.length - LOG_MAX_CHARS);
      if (atEnd) log.scrollTop = log.scrollHeight;
    });
  };

  view.poll("/api/resource?path=" + encodeURIComponent(path), (r, err) => {
    if (err) return fill(head, problem(err));
    fill(head, h("dl", { class: "facts" },
      h("dt", {}, "Phase"), h("dd", {}, phase(r.phase), r.stopped ? " (stopped by user)" : ""),
      h("dt", {}, "Reason"), h("dd", {}, r.reason),
      h("dt", {}, "Message"), h("dd", { id: "message" }, r.message),
      h("dt", {}, "IP"), h("dd", {}, r.ip),
      h("dt", {}, "Owner"), h("dd", {}, r.owner, r.origin ? " \u2014 " + r.origin : ""),
      h("dt", {}, "Managed since"), h("dd", { id: "since" }, r.since ? new Date(r.since * 1000).toLocaleString() : ""),
      h("dt", {}, "Memory"), h("dd", {}, bytes(r.memoryBytes)),
      h("dt", {}, "PIDs"), h("dd", {}, r.pids === null ? "" : r.pids),
      h("dt", {}, "Labels"), h("dd", { id: "labels" }, labels(r.labels)),
      h("dt", {}, "Observed"), h("dd", {}, "pass " + r.observedPass)));
    fill(containers, table(["Name", "State", "PID", "Exit", "Restarts", "Image", "Digest"],
      r.containers.map((c) => h("tr", { dataset: { container: c.name } },
        h("td", {}, c.name), h("td", {}, phase(c.state)), h("td", { class: "num" }, c.pid || ""),
        h("td", { class: "num" }, c.exitCode === null ? "" : c.exitCode), h("td", { class: "num" }, c.restartCount),
        h("td", {}, c.image), h("td", { class: "muted" }, (c.imageDigest || "").slice(0, 19))))));
    manifest.textContent = r.manifest;
    const names = r.containers.map((c) => c.name);
    if (tabs.dataset.names !== names.join(",")) {
      tabs.dataset.names = names.join(",");
      fill(tabs, names.map((n) => h("button", { type: "button", dataset: { container: n }, onclick: () => follow(n) }, n)));
      if (names.length && !names.includes(logFor)) { logFor = null; follow(names[0]); }
    }
  });
  view.poll("/api/events?limit=30&prefix=" + encodeURIComponent(path), (list, err) => {
    if (err) return fill(events, problem(err));
    fill(events, list.length ? eventTable(list.slice().reverse()) : h("p", { class: "muted" }, "no events"));
  }, 2000);
}

function eventRow(e) {
  return h("tr", { dataset: { id: e.id } },
    h("td", { class: "muted" }, when(e.time)), h("td", {}, phase(e.type)),
    h("td", {}, e.path), h("td", {}, e.reason), h("td", {}, e.message));
}
function eventTable(list) { return table(["Time", "Type", "Path", "Reason", "Message"], list.map(eventRow)); }

function eventsPage(view, root) {
  const tbody = h("tbody", { id: "events" });
  fill(root, h("h1", {}, "Events"), h("p", { class: "muted" }, "live, newest first"),
    h("table", {}, h("thead", {}, h("tr", {}, ["Time", "Type", "Path", "Reason", "Message"].map((x) => h("th", {}, x)))), tbody));
  view.stream("/api/events/stream?limit=200", (e) => {
    tbody.prepend(eventRow(e));
    while (tbody.children.length > 1000) tbody.lastChild.remove();
  });
}

function sourcesPage(view, root) {
  const body = h("div");
  fill(root, h("h1", {}, "Sources"), body);
  view.poll("/api/sources", (d, err) => {
    if (err) return fill(body, problem(err));
    fill(body,
      h("p", {}, "Manifests directory: ", h("code", {}, d.manifestsDir)),
      d.heldEmpty ? h("pre", { class: "error" }, d.heldEmpty) : null,
      d.conflicts.length ? h("div", {}, h("h2", {}, "Conflicts"), h("pre", { class: "error" }, d.conflicts.join("\n"))) : null,
      d.git.length ? h("div", {}, h("h2", {}, "Git"), table(["Name", "Repository", "Ref / path", "Applied", "Resources", "State"],
        d.git.map((g) => h("tr", { dataset: { git: g.name } },
          h("td", {}, g.name), h("td", {}, g.url), h("td", {}, g.ref || "default branch", g.path ? " \u2014 " + g.path : ""),
          h("td", {}, (g.applied || "").slice(0, 12), g.appliedAt ? h("span", { class: "muted" }, " at " + when(g.appliedAt)) : ""),
          h("td", { class: "num" }, g.resources),
          h("td", {}, g.error ? h("pre", { class: "error" }, g.error) : (g.suspended ? "suspended" : g.syncing ? "syncing" : "ok")))))) : null,
      h("h2", {}, "All sources"),
      table(["Source", "Revision", "Resources", "Problems"], d.sources.map((s) => h("tr", { dataset: { source: s.name } },
        h("td", {}, s.name), h("td", { class: "muted" }, s.revision),
        h("td", {}, s.resources.map((p) => h("div", {}, p))),
        h("td", {}, s.error ? h("pre", { class: "error" }, s.error) : h("span", { class: "muted" }, "ok"),
          s.warnings.map((w) => h("div", { class: "muted" }, "warning: " + w)))))));
  });
}

function planTable(p) {
  const rows = p.actions.map((a) => h("tr", {}, h("td", {}, a.op), h("td", {}, a.path), h("td", {}, a.cause)));
  return h("div", {},
    rows.length ? table(["Action", "Path", "Cause"], rows) : h("p", { class: "muted" }, "nothing to do"),
    p.waiting.length ? h("div", {}, h("h2", {}, "Waiting"), table(["Path", "Why"], p.waiting.map((w) => h("tr", {}, h("td", {}, w.path), h("td", {}, w.why))))) : null,
    p.unowned.length ? h("div", {}, h("h2", {}, "Unowned (reported, not pruned)"), h("pre", {}, p.unowned.join("\n"))) : null);
}

function planPage(view, root) {
  const body = h("div");
  fill(root, h("h1", {}, "Plan"), body);
  view.poll("/api/plan", (d, err) => {
    if (err) return fill(body, problem(err));
    const l = d.last;
    const recent = d.recent.map((a) => h("tr", {}, h("td", { class: "muted" }, when(a.time)), h("td", {}, a.op), h("td", {}, a.path), h("td", {}, a.cause)));
    fill(body,
      h("h2", {}, "Next pass would do (on the last observation)"), planTable(d.next),
      h("h2", {}, "Recently done"), recent.length ? table(["Time", "Action", "Path", "Cause"], recent) : h("p", { class: "muted" }, "nothing since the UI started"),
      h("h2", {}, "Last pass #" + l.pass + " at " + when(l.at) + " \u2014 " + (l.seconds * 1000).toFixed(0) + " ms, " +
        l.actions + " actions, " + l.errors + " errors"), planTable(l.plan));
  }, 2000);
}

// -- router and header ------------------------------------------------------------------
function route() {
  if (current) current.close();
  current = new View();
  const root = document.getElementById("view");
  const hash = location.hash.replace(/^#/, "") || "/";
  let nav = "hierarchy";
  if (hash.startsWith("/cell/")) cellPage(current, root, decodeURIComponent(hash.slice(6)));
  else if (hash === "/events") { nav = "events"; eventsPage(current, root); }
  else if (hash === "/sources") { nav = "sources"; sourcesPage(current, root); }
  else if (hash === "/plan") { nav = "plan"; planPage(current, root); }
  else hierarchyPage(current, root);
  document.querySelectorAll("[data-nav]").forEach((a) => a.classList.toggle("active", a.dataset.nav === nav));
}

async function header() {
  const el = document.getElementById("daemon");
  try {
    const { data: s } = await getJSON("/api/status");
    const phases = Object.entries(s.phases).map(([k, v]) => v + " " + k).join(", ");
    el.textContent = "instance " + s.instance + " \u00b7 pass " + s.pass + " (" + (s.passSeconds * 1000).toFixed(0) +
      " ms) \u00b7 cells: " + (phases || "none") + " \u00b7 cgroups " + s.cgroupMode + " \u00b7 v" + s.version;
  } catch (e) {
    el.textContent = "kukeond unreachable: " + e.message;
  }
  setTimeout(header, 2000);
}

window.addEventListener("hashchange", route);
route();
header();
