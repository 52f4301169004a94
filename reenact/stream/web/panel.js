// The reenact panel: previews, the show's buttons (presets, pause, quit), live settings, gallery
// with upload, stats. Everything goes through the same API a stream deck uses (GET /status,
// POST /action/..., POST /settings, ...); the status is pushed over GET /events.
"use strict";

const $ = (id) => document.getElementById(id);
const dragging = new Set();  // settings the user is moving: the status must not snap them back
// shown under "Basic", in this order; every other live setting goes under "Advanced"
const BASIC = ["stream.intensity", "eyes.gaze", "head.motion", "smoothing.enabled",
  "source.mirror"];
const HIDDEN = new Set(["paused"]);  // the Pause button in the header
const OUTPUT_KINDS = { file: "file", stream: "stream", virtualcam: "virtual camera",
  window: "window", null: "nowhere (null sink)" };

async function api(path, options = {}) {
  let response;
  try {
    response = await fetch(path, { credentials: "same-origin", ...options });
  } catch (e) {  // no answer at all: the server is gone
    throw Object.assign(new Error("reenact stopped"), { stopped: true });
  }
  let body = {};
  try { body = await response.json(); } catch (e) { /* not JSON */ }
  if (!response.ok) {
    throw Object.assign(new Error(body.error || `${path}: HTTP ${response.status}`),
      { status: response.status });
  }
  return body;
}

function say(text, kind = "ok") {
  const m = $("message");
  m.textContent = text;
  m.className = kind;
}

function fail(e) {
  if (e.stopped) showStopped(); else say(e.message, "error");
}

function post(path, body) {
  const options = { method: "POST" };
  if (body !== undefined) {
    Object.assign(options, { headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
  }
  return api(path, options);
}

function postSetting(key, value) {
  post("/settings", { [key]: value }).catch(fail);
}

function settingControl(row) {
  const wrap = document.createElement("div");
  wrap.className = "setting";
  const label = document.createElement("label");
  label.textContent = row.label;
  const input = document.createElement("input");
  input.dataset.key = row.key;
  if (row.kind === "toggle") {
    input.type = "checkbox";
    input.checked = row.value;
    input.addEventListener("change", () => postSetting(row.key, input.checked));
    label.prepend(input);
    wrap.append(label);
  } else if (row.kind === "choice") {
    const select = document.createElement("select");
    select.dataset.key = row.key;
    for (const choice of row.choices) select.append(new Option(choice, choice, false, choice === row.value));
    select.addEventListener("change", () => postSetting(row.key, select.value));
    wrap.append(label, select);
  } else {
    const out = document.createElement("output");
    Object.assign(input, { type: "range", min: row.min, max: row.max, step: row.step, value: row.value });
    out.textContent = Number(row.value).toFixed(2);
    input.addEventListener("input", () => {
      dragging.add(row.key);
      out.textContent = Number(input.value).toFixed(2);
      postSetting(row.key, Number(input.value));
    });
    input.addEventListener("change", () => setTimeout(() => dragging.delete(row.key), 1000));
    wrap.append(label, out, input);
  }
  return wrap;
}

function buildSettings(rows) {
  const basic = $("settings-basic"), advanced = $("settings-advanced");
  basic.textContent = advanced.textContent = "";
  const rank = (row) => (BASIC.includes(row.key) ? BASIC.indexOf(row.key) : BASIC.length);
  for (const row of [...rows].sort((a, b) => rank(a) - rank(b))) {
    if (HIDDEN.has(row.key)) continue;
    (BASIC.includes(row.key) ? basic : advanced).append(settingControl(row));
  }
}

// The page is redrawn only where something changed: a browser repaints what is touched, and on
// a small machine every repaint is CPU the render loop does not get.
function setText(element, text) {
  if (element.textContent !== text) element.textContent = text;
}

function setValue(input, value) {
  if (input.type === "checkbox") {
    if (input.checked !== value) input.checked = value;
  } else if (input.value !== String(value)) input.value = value;
}

function showSettings(values) {
  for (const input of document.querySelectorAll(".settings input, .settings select")) {
    const key = input.dataset.key;
    if (!(key in values) || dragging.has(key)) continue;
    setValue(input, values[key]);
    if (input.type === "range") {
      setText(input.parentElement.querySelector("output"), Number(values[key]).toFixed(2));
    }
  }
}

function chip(id, text, good) {
  const c = $(id);
  setText(c, text);
  const name = "chip" + (good === undefined ? "" : good ? " good" : " bad");
  if (c.className !== name) c.className = name;
}

function showStages(stages) {
  const body = $("stages").tBodies[0];
  const rows = Object.entries(stages);
  while (body.rows.length > rows.length) body.deleteRow(-1);
  rows.forEach(([name, ms], i) => {
    const tr = body.rows[i] ?? body.insertRow();
    while (tr.cells.length < 2) tr.insertCell();
    setText(tr.cells[0], name);
    setText(tr.cells[1], `${ms.toFixed(1)} ms`);
  });
}

// A switch only moves the "current" mark: the thumbnails are rebuilt when the list changes,
// so a click that spans a status poll lands on the same element it started on.
let galleryKey = "";
function showGallery(targets) {
  const box = $("gallery");
  const key = JSON.stringify(targets.map(({ current, ...rest }) => rest));
  if (key !== galleryKey) {
    galleryKey = key;
    buildGallery(box, targets);
  }
  const current = String(targets.find((t) => t.current)?.index);
  for (const img of box.querySelectorAll(".thumb")) {
    img.classList.toggle("current", img.dataset.index === current);
  }
}

function buildGallery(box, targets) {
  box.textContent = "";
  for (const t of targets) {
    const img = document.createElement("img");
    const label = t.avatar ? `${t.name} (${t.avatar})` : t.name;
    img.src = `/targets/${t.index}/thumb.jpg`;
    img.alt = img.title = label;
    img.className = "thumb";
    img.dataset.index = t.index;
    img.addEventListener("click", () =>
      post(`/targets/${t.index}/select`).then(() => say(`switching to ${label}`)).catch(fail));
    if (!t.avatar) { box.append(img); continue; }
    // a personal avatar runs its own generator: a badge on its thumbnail, its score in the title
    const cell = document.createElement("span");
    const badge = document.createElement("span");
    cell.className = "avatar-cell";
    badge.className = "badge";
    const ssim = /SSIM (\d\.\d\d)/.exec(t.avatar);  // its own validation, on the badge
    badge.textContent = ssim ? `avatar ${ssim[1]}` : "avatar";
    badge.title = t.avatar;
    cell.append(img, badge);
    box.append(cell);
  }
}

// One button per preset: those on the number keys first (1-6), then any recorded ones. A click
// toggles it; a preset stays lit while it is on.
let presetsKey = "";
function showPresets(presets) {
  if (Array.isArray(presets)) presets = { available: presets, keys: [], on: [] };  // names only
  const names = [...presets.keys, ...presets.available.filter((n) => !presets.keys.includes(n))]
    .filter((n) => presets.available.includes(n));
  const box = $("presets");
  if (JSON.stringify(names) !== presetsKey) {
    presetsKey = JSON.stringify(names);
    box.textContent = "";
    names.forEach((name, i) => {
      const button = document.createElement("button");
      button.type = "button";
      button.dataset.preset = name;
      button.textContent = i < presets.keys.length ? `${i + 1} ${name}` : name;
      button.addEventListener("click", () => post(`/action/preset:${encodeURIComponent(name)}`).catch(fail));
      box.append(button);
    });
    const off = document.createElement("button");
    Object.assign(off, { type: "button", id: "presets-off", className: "quiet", textContent: "all off" });
    off.addEventListener("click", () => post("/action/presets_off").catch(fail));
    box.append(off);
  }
  for (const button of box.querySelectorAll("[data-preset]")) {
    button.classList.toggle("on", presets.on.includes(button.dataset.preset));
  }
}

function showOutput(output) {
  if (!output) return;
  const kind = OUTPUT_KINDS[output.kind] ?? output.kind ?? "-";
  chip("chip-output", `output: ${kind}${output.where ? ` → ${output.where}` : ""}`);
  $("chip-output").title = output.where || "where the audience's frames go";
}

function showStatus(s) {
  showRunning();
  chip("chip-fps", `${(s.fps ?? 0).toFixed(1)} fps`);
  chip("chip-delay", s.delay_ms == null ? "delay -" : `delay ${s.delay_ms.toFixed(0)} ms`);
  chip("chip-face", s.paused ? "paused" : s.face_found ? "face found" : "face lost", s.paused ? undefined : s.face_found);
  chip("chip-calib", s.calibrating ? "calibrating: look neutral" : "calibrated", !s.calibrating);
  chip("chip-engine", `${s.renderer} · ${s.backend} · ${s.device}${s.render_ahead ? " · ahead" : ""}`);
  showOutput(s.output);
  setText($("pause"), s.paused ? "Resume" : "Pause");
  $("pause").classList.toggle("on", !!s.paused);
  setText($("calib-state"), s.calibrating ? "calibrating…" : "done");
  if (s.preview_fps) setText($("preview-rate").options[0], `default (${s.preview_fps} fps)`);
  const height = `${s.preview_height}px`;
  if (s.preview_height && document.body.style.getPropertyValue("--preview-height") !== height) {
    document.body.style.setProperty("--preview-height", height);
  }
  showSettings(s.settings || {});
  if (s.targets) showGallery(s.targets);
  if (s.presets) showPresets(s.presets);
  showStages(s.stages_ms || {});
}

// When the server goes away the page says so, instead of the last fps and "face found".
function showStopped(why) {
  if (!document.body.classList.contains("stopped")) {
    document.body.classList.add("stopped");
    for (const [id, text] of [["chip-fps", "- fps"], ["chip-delay", "delay -"], ["chip-face", "face -"],
      ["chip-calib", "calibration -"]]) chip(id, text);
    say("");
  }
  setText($("stopped-why"), why || "Start it again: this page reconnects by itself.");
  $("stopped").hidden = false;
}

function showRunning() {
  if (!document.body.classList.contains("stopped")) return;
  document.body.classList.remove("stopped");
  $("stopped").hidden = true;
  connectPreview();
}

// The status comes over server-sent events (GET /events) while the tab is visible. When the
// stream cannot start (an older reenact, a refused token) the page polls /status instead.
let events = null;
let eventsWorked = false;
let polling = false;

function follow() {
  if (events || polling || document.hidden) return;
  if (!window.EventSource) { poll(); return; }
  const source = events = new EventSource("/events");
  source.onmessage = (e) => { eventsWorked = true; showStatus(JSON.parse(e.data)); };
  source.addEventListener("stopped", () => { stopEvents(); showStopped(); setTimeout(reconnect, 2000); });
  source.onerror = () => {
    if (source.readyState !== EventSource.CLOSED) { showStopped(); return; }  // it retries itself
    stopEvents();
    if (eventsWorked) reconnect(); else poll();
  };
}

function stopEvents() {
  if (events) events.close();
  events = null;
}

async function reconnect() {  // after the session ended: /status says when one answers again
  if (document.hidden) return;
  try {
    showStatus(await api("/status"));
    follow();
  } catch (e) {
    showStopped(e.stopped ? "" : e.message);
    setTimeout(reconnect, 2000);
  }
}

async function poll() {
  polling = true;
  try { showStatus(await api("/status")); } catch (e) { showStopped(e.stopped ? "" : e.message); }
  setTimeout(poll, document.hidden ? 5000 : 2000);  // each poll costs the browser ~20 ms of CPU
}

async function upload(file) {
  if (!file) return;
  say(`checking ${file.name}…`);
  try {
    const body = await api(`/targets?name=${encodeURIComponent(file.name)}`, {
      method: "POST", headers: { "Content-Type": "application/octet-stream" }, body: file,
    });
    say(`added ${body.targets[body.index].name}; switching to it`);
    showGallery(body.targets);
  } catch (e) { fail(e); }
}

function setupUpload() {
  const zone = $("dropzone");
  $("upload-input").addEventListener("change", (e) => upload(e.target.files[0]));
  zone.addEventListener("dragover", (e) => { e.preventDefault(); zone.classList.add("over"); });
  zone.addEventListener("dragleave", () => zone.classList.remove("over"));
  zone.addEventListener("drop", (e) => {
    e.preventDefault();
    zone.classList.remove("over");
    upload(e.dataTransfer.files[0]);
  });
}

// The previews (one stream: the output and the camera side by side, so the browser paints one
// image per tick) stream only while they can be seen: at the chosen rate (default: the server's
// panel.preview_fps), not at all when "off" or while this tab is hidden (Page Visibility).
// Every frame not shown is a JPEG the server does not encode and the browser does not paint.
function previewRate() {
  return localStorage.getItem("reenact.previewRate") ?? "";
}

function connectPreview() {
  const img = $("output-preview");
  if (document.hidden || previewRate() === "0") {
    if (img.getAttribute("src")) img.removeAttribute("src");  // closes the stream
    img.classList.add("off");
    return;
  }
  const rate = previewRate();
  const path = $("camera-on").checked ? img.dataset.stream : img.dataset.outputOnly;
  img.classList.remove("off");
  img.src = path + `?t=${Date.now()}` + (rate ? `&fps=${rate}` : "");
}

function setupPreviews() {
  const rate = $("preview-rate");
  rate.value = previewRate();
  rate.addEventListener("change", () => {
    localStorage.setItem("reenact.previewRate", rate.value);
    connectPreview();
  });
  const camera = $("camera-on");
  camera.checked = localStorage.getItem("reenact.cameraPreview") !== "off";
  camera.addEventListener("change", () => {
    localStorage.setItem("reenact.cameraPreview", camera.checked ? "on" : "off");
    connectPreview();
  });
  document.addEventListener("visibilitychange", () => {
    connectPreview();
    if (document.hidden) stopEvents(); else follow();  // a hidden tab needs no status
  });
  // a dropped stream (reenact restarted) comes back by itself
  $("output-preview").addEventListener("error", () => setTimeout(connectPreview, 1000));
  connectPreview();
}

function setupShow() {
  $("pause").addEventListener("click", () => post("/action/pause").catch(fail));
  $("quit").addEventListener("click", () => {
    if (!confirm("Stop reenact? The virtual camera, stream and OBS page stop too.")) return;
    post("/action/quit").then(() => showStopped("You quit it from this page.")).catch(fail);
  });
  $("recalibrate").addEventListener("click", () =>
    post("/action/recalibrate").then(() => say("recalibrating: look neutral")).catch(fail));
  for (const box of document.querySelectorAll("details")) {  // open or closed as last left
    const stored = localStorage.getItem(`reenact.open.${box.id}`);
    if (stored !== null) box.open = stored === "1";
    box.addEventListener("toggle", () => localStorage.setItem(`reenact.open.${box.id}`, box.open ? "1" : "0"));
  }
}

async function main() {
  setupShow();
  setupUpload();
  setupPreviews();
  try { buildSettings((await api("/settings")).settings); } catch (e) { fail(e); }
  follow();  // panel_extras.js adds what only some sessions offer (the OBS link, cameras)
}
main();
