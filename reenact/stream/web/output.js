// The output alone, for OBS's Browser Source. The token (if in the address) is passed on to the
// stream, so it works whether or not the browser keeps the cookie. With a transparent background
// the stream's frames are WebP with alpha: the <img> and the page (output.css) let OBS's scene
// show through around the avatar.
"use strict";
const params = new URLSearchParams(location.search);
const img = document.getElementById("output");

function connect() {
  const query = new URLSearchParams();
  if (params.get("token")) query.set("token", params.get("token"));
  if (params.get("fps")) query.set("fps", params.get("fps"));
  query.set("t", Date.now());  // a fresh request each time
  img.src = "/stream/output.mjpg?" + query.toString();
}
// a dropped stream (reenact restarted) comes back by itself
img.addEventListener("error", () => setTimeout(connect, 1000));
connect();
// A stream that ends fires no event on an <img>: a restart is seen as the server gone and back
// (a HEAD of this page once a second; reenact cannot restart faster), and the stream reopened.
let away = false;
setInterval(() => {
  const query = params.get("token") ? "?token=" + encodeURIComponent(params.get("token")) : "";
  fetch("/output" + query, {method: "HEAD", cache: "no-store"}).then((response) => {
    if (away && response.ok) connect();
    away = !response.ok;
  }, () => { away = true; });
}, 1000);
