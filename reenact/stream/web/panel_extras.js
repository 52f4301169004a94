// The parts of the reenact panel that only some sessions offer, each shown when its route answers
// (GET /obs, GET /cameras). Uses panel.js's helpers (api, post, say, fail), loaded before it.
"use strict";

async function setupObs() {
  let obs;
  try { obs = await api("/obs"); } catch (e) { return; }
  const url = $("obs-url");
  url.value = obs.url;
  $("obs-box").hidden = false;
  $("obs-copy").addEventListener("click", async () => {
    try {
      await navigator.clipboard.writeText(url.value);
    } catch (e) {  // no clipboard access: leave the link selected for Ctrl-C
      url.select();
      if (!document.execCommand("copy")) { say("press Ctrl-C to copy the selected link"); return; }
    }
    say("OBS link copied: paste it as the Browser Source's URL");
  });
  $("obs-token").addEventListener("click", async () => {
    if (!confirm("Make a new token? The OBS Browser Source and your scripts need the new link.")) return;
    try {
      url.value = (await post("/obs/token")).url;
      const token = new URL(url.value).searchParams.get("token");
      if (token) await api(`/status?token=${encodeURIComponent(token)}`);  // this page's cookie
      say("new token: paste the new OBS link into the Browser Source");
    } catch (e) { fail(e); }
  });
}

async function setupCameras() {
  let cameras;
  try { cameras = await api("/cameras"); } catch (e) { return; }
  const select = $("camera");
  for (const c of cameras.cameras) {
    select.append(new Option(c.name ? `${c.name} (${c.device})` : c.device, c.device, false,
      String(c.device) === String(cameras.current)));
  }
  $("camera-box").hidden = false;
  select.addEventListener("change", () =>
    post("/camera", { device: select.value }).then(() => say(`switching to camera ${select.value}`)).catch(fail));
}

setupObs();
setupCameras();
