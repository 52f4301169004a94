// The reenact panel: previews, live settings, gallery with upload, stats.
// Everything goes through the same API a stream deck uses (GET /status, POST /settings, ...).
"use strict";

const $ = (id) => document.getElementById(id);
const dragging = new Set();  // settings the user is moving: /status must not snap them back

async function api(path, options = {}) {
  const response = await fetch(path, { credentials: "same-origin", ...options });
  let body = {};
  try { body = await response.json(); } catch (e) { /* not JSON */ }
  if (!response.ok) throw new Error(body.error || `${path}: HTTP ${response.status}`);
  return body;
}

function say(text, kind = "ok") {
  const m = $("message");
  m.textContent = text;
  m.className = kind;
}

function postSetting(key, value) {
  api("/settings", {
    method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ [key]: value }),
  }).catch((e) => say(e.message, "error"));
}

function buildSettings(rows) {
  const box = $("settings");
  box.textContent = "";
  for (const row of rows) {
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
    box.append(wrap);
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
  for (const input of document.querySelectorAll("#settings input, #settings select")) {
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

let galleryKey = "";
function showGallery(targets) {
  const key = JSON.stringify(targets);
  if (key === galleryKey) return;
  galleryKey = key;
  const box = $("gallery");
  box.textContent = "";
  for (const t of targets) {
    const img = document.createElement("img");
    img.src = `/targets/${t.index}/thumb.jpg`;
    img.alt = img.title = t.name;
    img.className = "thumb" + (t.current ? " current" : "");
    img.dataset.index = t.index;
    img.addEventListener("click", () =>
      api(`/targets/${t.index}/select`, { method: "POST" })
        .then(() => say(`switching to ${t.name}`)).catch((e) => say(e.message, "error")));
    box.append(img);
  }
}

function showStatus(s) {
  chip("chip-fps", `${(s.fps ?? 0).toFixed(1)} fps`);
  chip("chip-delay", s.delay_ms == null ? "delay -" : `delay ${s.delay_ms.toFixed(0)} ms`);
  chip("chip-face", s.paused ? "paused" : s.face_found ? "face found" : "face lost", s.paused ? undefined : s.face_found);
  chip("chip-calib", s.calibrating ? "calibrating: look neutral" : "calibrated", !s.calibrating);
  chip("chip-engine", `${s.renderer} · ${s.backend} · ${s.device}${s.render_ahead ? " · ahead" : ""}`);
  setText($("calib-state"), s.calibrating ? "calibrating…" : "done");
  if (s.preview_fps) setText($("preview-rate").options[0], `default (${s.preview_fps} fps)`);
  const height = `${s.preview_height}px`;
  if (s.preview_height && document.body.style.getPropertyValue("--preview-height") !== height) {
    document.body.style.setProperty("--preview-height", height);
  }
  showSettings(s.settings || {});
  if (s.targets) showGallery(s.targets);
  showStages(s.stages_ms || {});
}

async function poll() {
  try { showStatus(await api("/status")); } catch (e) { say(e.message, "error"); }
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
  } catch (e) { say(e.message, "error"); }
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
// stream.preview_fps), not at all when "off" or while this tab is hidden (Page Visibility).
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
  document.addEventListener("visibilitychange", connectPreview);
  // a dropped stream (reenact restarted) comes back by itself
  $("output-preview").addEventListener("error", () => setTimeout(connectPreview, 1000));
  connectPreview();
}

async function main() {
  $("recalibrate").addEventListener("click", () =>
    api("/action/recalibrate", { method: "POST" }).then(() => say("recalibrating: look neutral"))
      .catch((e) => say(e.message, "error")));
  setupUpload();
  setupPreviews();
  try { buildSettings((await api("/settings")).settings); } catch (e) { say(e.message, "error"); }
  poll();
}
main();
