// The dashboard: instances, one instance with its history and timeline, the task hub. It
// speaks only to the management API beside it, passing on the page's `code` (the key).

const key = new URLSearchParams(location.search).get("code");
const base = new URL("..", location.href);
const view = document.getElementById("view");
const STATUSES = ["Pending", "Running", "Completed", "ContinuedAsNew", "Failed", "Canceled",
  "Terminated", "Suspended"];
const PAGE = 50;

let refresh = null;
let listState = { filters: {}, tokens: [""], page: 0 };

/** Calls the management API at `path`; the JSON answer (null for none), or throws. */
async function api(path, options = {}) {
  const url = new URL(path, base);
  if (key) url.searchParams.set("code", key);
  const response = await fetch(url, options);
  const text = await response.text();
  const body = text ? JSON.parse(text) : null;
  if (!response.ok && response.status !== 202) {
    throw new Error(`${response.status}: ${body?.Message ?? text}`);
  }
  return { body, headers: response.headers };
}

function el(tag, attributes = {}, ...children) {
  const node = document.createElement(tag);
  for (const [name, value] of Object.entries(attributes)) {
    if (name.startsWith("on")) node.addEventListener(name.slice(2), value);
    else if (value !== undefined && value !== null) node.setAttribute(name, value);
  }
  for (const child of children.flat()) {
    node.append(child instanceof Node ? child : document.createTextNode(String(child ?? "")));
  }
  return node;
}

function json(value) {
  return el("pre", {}, value === null || value === undefined ? "" : JSON.stringify(value, null, 2));
}

function when(text) {
  return text ? new Date(text).toLocaleString() : "";
}

function duration(from, to) {
  if (!from) return "";
  const ms = (to ? new Date(to) : new Date()) - new Date(from);
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60000) return `${(ms / 1000).toFixed(1)} s`;
  return `${(ms / 60000).toFixed(1)} min`;
}

function status(runtimeStatus) {
  return el("span", { class: `status status-${runtimeStatus}` }, runtimeStatus);
}

function fail(error) {
  view.replaceChildren(el("p", { class: "error", id: "error" }, String(error.message ?? error)));
}

// ---- instances ----------------------------------------------------------------------------

async function showList() {
  const { filters, tokens, page } = listState;
  const query = new URLSearchParams({ top: PAGE, showInput: "false" });
  if (filters.status) query.set("runtimeStatus", filters.status);
  if (filters.prefix) query.set("instanceIdPrefix", filters.prefix);
  if (filters.from) query.set("createdTimeFrom", new Date(filters.from).toISOString());
  if (filters.to) query.set("createdTimeTo", new Date(filters.to).toISOString());
  const [counts, list] = await Promise.all([
    api("taskhub"),
    api(`instances?${query}`, { headers: { "x-ms-continuation-token": tokens[page] } }),
  ]);
  const next = list.headers.get("x-ms-continuation-token");
  tokens[page + 1] = next || undefined;
  // The API filters by status, prefix and time; the name filter applies to the page shown.
  const name = (filters.name ?? "").toLowerCase();
  const rows = list.body.filter((i) => !name || i.name.toLowerCase().includes(name));

  const countBoxes = STATUSES.map((s) =>
    el("div", { class: "count", "data-status": s }, el("b", {}, counts.body.statusCounts[s] ?? 0), s));
  const filterForm = el("form", { class: "filters", id: "filters", onsubmit: (e) => {
    e.preventDefault();
    const data = new FormData(e.target);
    listState = { filters: Object.fromEntries(data), tokens: [""], page: 0 };
    render();
  } },
  el("label", {}, "Status", el("select", { name: "status" }, el("option", { value: "" }, "any"),
    STATUSES.map((s) => el("option", { value: s, ...(filters.status === s ? { selected: "" } : {}) }, s)))),
  el("label", {}, "Name", el("input", { name: "name", value: filters.name ?? "" })),
  el("label", {}, "Instance id prefix", el("input", { name: "prefix", value: filters.prefix ?? "" })),
  el("label", {}, "Created from", el("input", { name: "from", type: "datetime-local", value: filters.from ?? "" })),
  el("label", {}, "Created to", el("input", { name: "to", type: "datetime-local", value: filters.to ?? "" })),
  el("button", { type: "submit", id: "apply" }, "Apply"));

  const table = el("table", { id: "instances" },
    el("tr", {}, ["Name", "Instance id", "Status", "Created", "Last updated", "Duration", "Custom status"]
      .map((h) => el("th", {}, h))),
    rows.map((i) => el("tr", { class: "instance", "data-instance-id": i.instanceId },
      el("td", {}, i.name),
      el("td", {}, el("a", { class: "open", href: `#/instance/${encodeURIComponent(i.instanceId)}` }, i.instanceId)),
      el("td", {}, status(i.runtimeStatus)),
      el("td", {}, when(i.createdTime)),
      el("td", {}, when(i.lastUpdatedTime)),
      el("td", {}, duration(i.createdTime, ["Pending", "Running", "Suspended"].includes(i.runtimeStatus) ? null : i.lastUpdatedTime)),
      el("td", {}, i.customStatus === null ? "" : JSON.stringify(i.customStatus)))));
  const paging = el("div", { class: "actions" },
    el("button", { id: "prev", ...(page === 0 ? { disabled: "" } : {}), onclick: () => { listState.page -= 1; render(); } }, "Previous"),
    el("span", {}, `page ${page + 1}`),
    el("button", { id: "next", ...(next ? {} : { disabled: "" }), onclick: () => { listState.page += 1; render(); } }, "Next"));
  view.replaceChildren(el("h2", {}, "Instances"), el("div", { class: "counts", id: "counts" }, countBoxes),
    filterForm, table, paging);
}

// ---- one instance -------------------------------------------------------------------------

/** The bars and points of a timeline, from Azure's condensed history. */
function timelineItems(history, end) {
  const bars = [];
  const points = [];
  const timers = new Map();
  for (const event of history) {
    const at = event.Timestamp;
    switch (event.EventType) {
      case "TaskCompleted":
      case "TaskFailed":
      case "SubOrchestrationInstanceCompleted":
      case "SubOrchestrationInstanceFailed": {
        const kind = event.EventType.startsWith("Task") ? "activity" : "suborchestration";
        const outcome = event.EventType.endsWith("Failed") ? "failed" : "completed";
        bars.push({ kind, outcome, name: event.FunctionName, from: event.ScheduledTime ?? at, to: at, child: event.InstanceId });
        break;
      }
      case "TaskScheduled":
        bars.push({ kind: "activity", outcome: "running", name: event.Name, from: at, to: end });
        break;
      case "SubOrchestrationInstanceCreated":
        bars.push({ kind: "suborchestration", outcome: "running", name: event.Name, from: at, to: end, child: event.InstanceId });
        break;
      case "TimerCreated": {
        const bar = { kind: "timer", outcome: "timer", name: "timer", from: at, to: end };
        timers.set(event.FireAt, bar);
        bars.push(bar);
        break;
      }
      case "TimerFired": {
        const bar = timers.get(event.FireAt);
        if (bar) bar.to = at;
        break;
      }
      default:
        points.push({ name: event.Name ? `${event.EventType} ${event.Name}` : event.EventType, at });
    }
  }
  return { bars, points };
}

function timeline(history, end) {
  const { bars, points } = timelineItems(history, end);
  const times = [...bars.flatMap((b) => [b.from, b.to]), ...points.map((p) => p.at)]
    .map((t) => new Date(t).getTime());
  const start = Math.min(...times);
  const span = Math.max(Math.max(...times) - start, 1);
  const width = 900, left = 180, row = 22, top = 10;
  const x = (t) => left + ((new Date(t).getTime() - start) / span) * (width - left - 20);
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  const height = top + (bars.length + 1) * row + 10;
  svg.setAttribute("class", "timeline");
  svg.setAttribute("id", "timeline");
  svg.setAttribute("viewBox", `0 0 ${width} ${height}`);
  const add = (tag, attributes, text) => {
    const node = document.createElementNS(ns, tag);
    for (const [name, value] of Object.entries(attributes)) node.setAttribute(name, value);
    if (text !== undefined) node.textContent = text;
    svg.append(node);
    return node;
  };
  points.forEach((p) => {
    add("circle", { class: "point", cx: x(p.at), cy: top + 8, r: 4 }).append(
      Object.assign(document.createElementNS(ns, "title"), { textContent: `${p.name} ${when(p.at)}` }));
  });
  bars.forEach((b, i) => {
    const y = top + (i + 1) * row;
    add("text", { x: 4, y: y + 12 }, b.name);
    const rect = add("rect", {
      class: `bar ${b.kind} ${b.outcome}`, x: x(b.from), y, height: row - 6,
      width: Math.max(x(b.to) - x(b.from), 2), "data-name": b.name,
    });
    rect.append(Object.assign(document.createElementNS(ns, "title"),
      { textContent: `${b.name}: ${b.outcome}, ${duration(b.from, b.to)}` }));
  });
  return svg;
}

async function showInstance(id) {
  const query = "showHistory=true&showHistoryOutput=true&showInput=true";
  const { body: s } = await api(`instances/${encodeURIComponent(id)}?${query}`);
  const history = s.historyEvents ?? [];
  const finished = !["Pending", "Running", "Suspended"].includes(s.runtimeStatus);
  const children = history.filter((e) => e.InstanceId && e.EventType.startsWith("SubOrchestration"));
  const act = (label, run, fields = []) => el("button", { class: "action", "data-action": label,
    onclick: () => confirmThen(`${label} instance ${id}?`, fields, run) }, label);
  const post = (operation) => (values) =>
    api(`instances/${encodeURIComponent(id)}/${operation}?reason=${encodeURIComponent(values.reason ?? "")}`, { method: "POST" });
  const actions = el("div", { class: "actions", id: "actions" },
    act("Raise event", (v) => api(`instances/${encodeURIComponent(id)}/raiseEvent/${encodeURIComponent(v.name)}`,
      { method: "POST", headers: { "content-type": "application/json" }, body: v.data || "null" }),
      [["name", "Event name"], ["data", "Event data (JSON)"]]),
    act("Terminate", post("terminate"), [["reason", "Reason"]]),
    act("Suspend", post("suspend"), [["reason", "Reason"]]),
    act("Resume", post("resume"), [["reason", "Reason"]]),
    act("Rewind", post("rewind"), [["reason", "Reason"]]),
    act("Restart", (v) => api(`instances/${encodeURIComponent(id)}/restart`, { method: "POST" }), []),
    act("Purge", async () => { await api(`instances/${encodeURIComponent(id)}`, { method: "DELETE" }); location.hash = "#/"; }, []));
  const fields = el("div", { class: "fields" },
    "Name", el("span", {}, s.name),
    "Instance id", el("span", { id: "instance-id" }, s.instanceId),
    "Status", el("span", { id: "instance-status" }, status(s.runtimeStatus)),
    "Created", el("span", {}, when(s.createdTime)),
    "Last updated", el("span", {}, when(s.lastUpdatedTime)),
    "Input", json(s.input), "Output", json(s.output), "Custom status", json(s.customStatus),
    ...(s.failureDetails ? ["Failure", json(s.failureDetails)] : []));
  const rows = history.map((e) => el("tr", { class: "event" },
    el("td", {}, e.EventType), el("td", {}, e.Name ?? e.FunctionName ?? ""), el("td", {}, when(e.Timestamp)),
    el("td", {}, json(e.Result ?? e.Input ?? e.FailureDetails ?? e.Reason ?? null))));
  view.replaceChildren(
    el("h2", {}, `${s.name} `, el("small", {}, s.instanceId)), actions, fields,
    el("h3", {}, "Timeline"), timeline(history, finished ? s.lastUpdatedTime : new Date().toISOString()),
    ...(children.length ? [el("h3", {}, "Sub-orchestrations"), el("ul", { id: "children" },
      children.map((c) => el("li", {}, el("a", { href: `#/instance/${encodeURIComponent(c.InstanceId)}` }, `${c.FunctionName ?? c.Name} ${c.InstanceId}`))))] : []),
    el("h3", {}, "History"),
    el("table", { id: "history" }, el("tr", {}, ["Event", "Name", "Time", "Details"].map((h) => el("th", {}, h))), rows));
}

/** Asks in the page's dialog, with an input per field; runs `action` with their values on Confirm. */
function confirmThen(text, fields, action) {
  const dialog = document.getElementById("confirm");
  document.getElementById("confirm-text").textContent = text;
  document.getElementById("confirm-fields").replaceChildren(...fields.map(([name, label]) =>
    el("label", {}, label, el("input", { name, "data-field": name }))));
  dialog.onclose = async () => {
    if (dialog.returnValue !== "ok") return;
    const values = Object.fromEntries(fields.map(([name]) =>
      [name, dialog.querySelector(`[data-field="${name}"]`).value]));
    try { await action(values); await render(); } catch (error) { fail(error); }
  };
  dialog.showModal();
}

// ---- the task hub -------------------------------------------------------------------------

async function showHub() {
  const [{ body: hub }, { body: entities }] = await Promise.all([api("taskhub"), api("entities?fetchState=true")]);
  view.replaceChildren(
    el("h2", {}, `Task hub ${hub.hubName}`),
    el("h3", {}, "Queues"),
    el("table", { id: "queues" }, el("tr", {}, ["Function", "Kind", "Depth", "Oldest"].map((h) => el("th", {}, h))),
      hub.queues.map((q) => el("tr", { class: "queue", "data-queue": q.name },
        el("td", {}, q.name), el("td", {}, q.kind), el("td", {}, q.depth), el("td", {}, when(q.oldestEnqueuedAt))))),
    el("h3", {}, "Entities"),
    el("table", { id: "entities" }, el("tr", {}, ["Name", "Key", "Last operation", "Locked by", "State"].map((h) => el("th", {}, h))),
      entities.map((e) => el("tr", { class: "entity" },
        el("td", {}, e.entityId.name), el("td", {}, e.entityId.key), el("td", {}, when(e.lastOperationTime)),
        el("td", {}, e.lockedBy ?? ""), el("td", {}, json(e.state))))));
}

// ---- routing ------------------------------------------------------------------------------

async function render() {
  const hash = location.hash || "#/";
  try {
    if (hash.startsWith("#/instance/")) await showInstance(decodeURIComponent(hash.slice(11)));
    else if (hash === "#/hub") await showHub();
    else await showList();
  } catch (error) {
    fail(error);
  }
}

function schedule() {
  clearInterval(refresh);
  refresh = setInterval(() => {
    const open = document.getElementById("confirm").open;
    if (document.getElementById("auto-refresh").checked && !open) render();
  }, 5000);
}

window.addEventListener("hashchange", render);
schedule();
render();
