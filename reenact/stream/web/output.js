// The output alone, for OBS's Browser Source. The token (if in the address) is passed on to the
// stream, so it works whether or not the browser keeps the cookie.
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
