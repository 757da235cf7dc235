"use strict";
// vidsr serve: the single page. Plain JS, no build step, no CDN.
const $ = (sel) => document.querySelector(sel);
const state = { info: null, videos: {}, current: null, preview: null, previewIds: [], streams: {} };

async function api(method, url, body) {
  const opts = { method, headers: {} };
  if (body !== undefined) { opts.headers["content-type"] = "application/json"; opts.body = JSON.stringify(body); }
  const res = await fetch(url, opts);
  const data = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(data.detail ? String(typeof data.detail === "string" ? data.detail : JSON.stringify(data.detail)) : res.statusText);
  return data;
}
function el(tag, attrs = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") e.className = v; else if (k.startsWith("on")) e.addEventListener(k.slice(2), v); else e.setAttribute(k, v);
  }
  for (const c of children) e.append(c);
  return e;
}
const fmtTime = (s) => s == null ? "?" : s < 90 ? `${s.toFixed(1)} s` : s < 5400 ? `${(s / 60).toFixed(1)} min` : `${(s / 3600).toFixed(1)} h`;
const fmtBytes = (n) => n < 1e6 ? `${(n / 1e3).toFixed(0)} kB` : n < 1e9 ? `${(n / 1e6).toFixed(1)} MB` : `${(n / 1e9).toFixed(2)} GB`;

// 1. adding videos
function uploadFile(file) {
  const bar = el("span");
  const status = el("span", { class: "status" }, "uploading…");
  const cancel = el("button", { type: "button" }, "cancel");
  const li = el("li", { class: "upload" }, el("b", {}, file.name), " ", el("span", { class: "bar" }, bar), " ", status, " ", cancel);
  $("#files").append(li);
  const xhr = new XMLHttpRequest();
  xhr.open("POST", "/api/uploads?name=" + encodeURIComponent(file.name));
  xhr.upload.onprogress = (e) => { if (e.lengthComputable) bar.style.width = (100 * e.loaded / e.total) + "%"; };
  xhr.upload.onload = () => { status.textContent = "reading the video…"; };
  const failed = (text) => { status.textContent = text; status.className = "status error"; li.classList.add("failed"); };
  cancel.onclick = () => { xhr.abort(); status.textContent = "cancelled"; li.classList.add("cancelled"); cancel.remove(); };
  xhr.onload = () => {
    cancel.remove();
    let data = {};
    try { data = JSON.parse(xhr.responseText); } catch (e) { data = { detail: xhr.statusText }; }
    if (xhr.status === 201) { li.remove(); addVideo(data, true); }
    else failed(data.detail || `error ${xhr.status}`);
  };
  xhr.onerror = () => failed("the upload failed (connection lost)");
  xhr.send(file);
}

function addVideo(video, select) {
  state.videos[video.id] = video;
  const p = video.probe.video;
  const li = el("li", { "data-id": video.id, class: "video" },
    el("b", {}, video.name), ` — ${p.width}×${p.height}, ${fmtTime(video.probe.duration_s)}, ${fmtBytes(video.size)} `,
    el("button", { type: "button", onclick: () => selectVideo(video.id) }, "select"));
  $("#files").append(li);
  if (select) selectVideo(video.id);
}

function setupDrop() {
  const drop = $("#drop");
  drop.addEventListener("dragover", (e) => { e.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", () => drop.classList.remove("over"));
  drop.addEventListener("drop", (e) => {
    e.preventDefault(); drop.classList.remove("over");
    window.vidsrDropTime = performance.now();
    for (const f of e.dataTransfer.files) uploadFile(f);
  });
  $("#picker").addEventListener("change", (e) => { for (const f of e.target.files) uploadFile(f); e.target.value = ""; });
}

async function loadLocal() {
  const files = await api("GET", "/api/local");
  $("#local").hidden = false;
  for (const f of files) {
    const status = el("span");
    const li = el("li", {}, `${f.name} (${fmtBytes(f.size)}) `, el("button", { type: "button", onclick: async () => {
      status.textContent = " reading…";
      try { addVideo(await api("POST", "/api/local", { path: f.path }), true); status.textContent = ""; }
      catch (err) { status.textContent = " " + err.message; status.className = "error"; }
    } }, "use"), status);
    $("#local-files").append(li);
  }
}

// 2. what vidsr sees
async function selectVideo(id) {
  const video = state.videos[id];
  state.current = video;
  document.querySelectorAll("#files li").forEach((li) => li.classList.toggle("selected", li.dataset.id === id));
  for (const s of ["#video-panel", "#settings-panel", "#preview-panel"]) $(s).hidden = false;
  $("#video-name").textContent = video.name;
  const p = video.probe, v = p.video;
  const rows = [
    ["container", p.format], ["duration", fmtTime(p.duration_s)],
    ["video", `${v.codec} ${v.width}×${v.height}, ${v.pix_fmt} (${v.bit_depth}-bit)`],
    ["rate", `${v.fps ? v.fps.toFixed(3) + " fps" : "unknown"}${v.variable_rate ? " (variable)" : ""}`],
    ["frames", v.frames || "not indexed"], ["colour", v.colour + (v.hdr ? `, HDR ${v.hdr}` : "")],
    ["scan", v.interlaced ? `interlaced (${v.field_order}): deinterlaced with bwdif` : "progressive"],
    ["rotation", `${v.rotation}°`], ["pixel aspect", v.sample_aspect_ratio || "square"],
  ];
  $("#probe").replaceChildren(...rows.map(([k, val]) => el("tr", {}, el("td", {}, k), el("td", {}, String(val)))));
  $("#streams").replaceChildren(...p.streams.map((s) => el("li", {},
    `${s.kind} #${s.index}: ${s.codec}${s.language ? " [" + s.language + "]" : ""}${s.channels ? `, ${s.channels} ch` : ""} → ${s.action}`)));
  if (!p.streams.length) $("#streams").append(el("li", {}, "no audio or subtitle stream"));
  const detail = await api("GET", `/api/videos/${id}`);
  const n = detail.thumbnails;
  $("#thumbs").replaceChildren(...Array.from({ length: n }, (_, i) => el("img", {
    src: `/api/videos/${id}/thumbs/${i}`, title: fmtTime(p.duration_s * i / n), "data-index": i,
    onclick: () => setMoment(p.duration_s * i / n),
  })));
  const moment = $("#moment");
  moment.max = Math.max(0, p.duration_s - 0.05).toFixed(2);
  setMoment(0);
  $("#start-job").disabled = false;
  updateExpected();
}
function setMoment(t) {
  $("#moment").value = t;
  $("#moment-label").textContent = `${Number(t).toFixed(2)} s`;
  const n = $("#thumbs").children.length, d = state.current.probe.duration_s;
  [...$("#thumbs").children].forEach((img, i) => img.classList.toggle("at", d && Math.floor(t / d * n) === i));
}

// 3. settings
function fillModels() {
  $("#model").replaceChildren(...state.info.models.map((m) => el("option", { value: m.name }, `${m.name} (x${m.scale})`)));
  $("#model").value = state.info.models.find((m) => m.default).name;
  $("#ab-model").replaceChildren(...state.info.models.map((m) => el("option", { value: m.name }, m.name)));
  $("#ab-model").value = "bicubic";
}
function settings() {
  const form = new FormData($("#settings"));
  const out = {};
  for (const [k, v] of form.entries()) if (v !== "" && !(k === "scale" && v === "native")) out[k] = v;
  out.crf = Number(out.crf);
  return out;
}
function applyPreset(name) {
  const p = state.info.presets[name];
  $("#model").value = p.model; $("#scale").value = p.scale ? String(p.scale) : "native";
  $("#temporal").value = p.temporal; $("#deblock").value = p.deblock; $("#crf").value = p.crf;
  $("#enc-preset").value = p.preset;
  $("#preset-help").textContent = p.help;
  document.querySelectorAll("#presets button").forEach((b) => b.classList.toggle("primary", b.dataset.preset === name));
  updateExpected();
}
function updateExpected() {
  const m = state.info.models.find((x) => x.name === $("#model").value);
  if (!m) return;
  $("#model-help").textContent = m.description + (m.set5_psnr ? ` Set5 ${m.set5_psnr.toFixed(2)} dB.` : "");
  if (!state.current) return;
  const s = $("#scale").value === "native" ? m.scale : Number($("#scale").value);
  const v = state.current.probe.video;
  $("#expected").textContent = `Result: ${v.width * s}×${v.height * s}, ${fmtTime(state.current.probe.duration_s)}, ` +
    `about ${fmtBytes(state.current.size * s)} (a rough guess: the input's size × scale).`;
}

// 4. preview
function watch(jobId, onUpdate) {
  if (state.streams[jobId]) state.streams[jobId].close();
  const source = new EventSource(`/api/jobs/${jobId}/events`);
  state.streams[jobId] = source;
  source.addEventListener("job", (e) => {
    const job = JSON.parse(e.data);
    onUpdate(job);
    if (["done", "failed", "cancelled"].includes(job.state)) { source.close(); delete state.streams[jobId]; }
  });
  source.addEventListener("deleted", () => { source.close(); delete state.streams[jobId]; refreshQueue(); });
}
function waitJob(jobId, onUpdate) {
  return new Promise((resolve) => watch(jobId, (j) => {
    if (onUpdate) onUpdate(j);
    if (["done", "failed", "cancelled"].includes(j.state)) resolve(j);
  }));
}
async function renderPreview() {
  const status = $("#preview-status");
  status.className = ""; status.textContent = "queued…";
  $("#preview-btn").disabled = true;
  const body = (s, replaces = []) => ({ video_id: state.current.id, start: Number($("#moment").value),
    duration: Number($("#preview-seconds").value), settings: s, replaces });
  try {
    const a = await api("POST", "/api/previews", body(settings(), state.previewIds));
    const ab = $("#ab").checked ? await api("POST", "/api/previews", body({ ...settings(), model: $("#ab-model").value })) : null;
    state.previewIds = [a.id].concat(ab ? [ab.id] : []);  // the next preview replaces these
    const progress = (j) => { if (j.state === "running") status.textContent = `rendering… ${j.frames_done}/${j.frames_total || "?"} frames`; };
    const [ja, jb] = await Promise.all([waitJob(a.id, progress), ab ? waitJob(ab.id, progress) : null]);
    $("#preview-btn").disabled = false;
    const failed = [ja, jb].find((j) => j && j.state !== "done");
    if (failed) { status.textContent = failed.error || failed.state; status.className = "error"; return; }
    showPreview(ja, jb);
  } catch (err) { status.textContent = err.message; status.className = "error"; $("#preview-btn").disabled = false; }
}
function showPreview(job, other) {
  state.preview = job;
  const r = job.report;
  $("#preview-status").textContent = `${r.frames} frames in ${r.seconds.toFixed(1)} s (${r.fps.toFixed(2)} fps, ${r.model} on ${r.device})` +
    (other ? `; B: ${other.report.model}, ${other.report.fps.toFixed(2)} fps` : "");
  $("#eta").textContent = r.full_video_eta_seconds != null
    ? `With these settings the whole video (${r.full_video_frames} frames) will take about ${fmtTime(r.full_video_eta_seconds)} at this speed.` : "";
  const after = $("#after"), before = $("#before");
  after.onload = () => { if (window.vidsrDropTime && !window.vidsrFirstPreview) window.vidsrFirstPreview = performance.now() - window.vidsrDropTime; };
  after.src = `/api/jobs/${job.id}/frame/after.png`;
  before.src = other ? `/api/jobs/${other.id}/frame/after.png` : `/api/jobs/${job.id}/frame/before.png`;
  before.style.imageRendering = other ? "auto" : "pixelated";
  $("#label-left").textContent = other ? `B: ${other.report.model}` : "before (scaled, no smoothing)";
  $("#label-right").textContent = other ? `A: ${r.model}` : "after";
  $("#compare").hidden = false;
  setSplit(0.5);
  const left = other ? `/api/jobs/${other.id}/clip/after` : `/api/jobs/${job.id}/clip/before`;
  $("#clip-before").src = left;
  $("#clip-after").src = `/api/jobs/${job.id}/clip/after`;
  $("#caption-before").textContent = other ? `B: ${other.report.model}` : "before (the input, scaled without smoothing)";
  $("#caption-after").textContent = other ? `A: ${r.model}` : `after (${r.model})`;
  $("#playback").hidden = false;
  $("#preview-links").replaceChildren(
    el("a", { href: `/api/jobs/${job.id}/frame/compare.png` }, "before/after PNG"),
    el("a", { href: `/api/jobs/${job.id}/output` }, "preview clip"));
}
function setupPlayback() {
  const a = $("#clip-before"), b = $("#clip-after");
  $("#play-both").addEventListener("click", () => {
    if (b.paused) { a.currentTime = b.currentTime; a.play(); b.play(); $("#play-both").textContent = "pause both"; }
    else { a.pause(); b.pause(); a.currentTime = b.currentTime; $("#play-both").textContent = "play both"; }
  });
  b.addEventListener("timeupdate", () => { if (Math.abs(a.currentTime - b.currentTime) > 0.08) a.currentTime = b.currentTime; });
  b.addEventListener("seeked", () => { a.currentTime = b.currentTime; });
}
function setSplit(f) {
  f = Math.min(1, Math.max(0, f));
  $("#before-wrap").style.clipPath = `inset(0 ${(100 - f * 100).toFixed(2)}% 0 0)`;
  $("#handle").style.left = `${(f * 100).toFixed(2)}%`;
  $("#compare").dataset.split = f.toFixed(3);
}
function setupSlider() {
  const box = $("#compare");
  let down = false;
  const at = (e) => { const r = box.getBoundingClientRect(); setSplit((e.clientX - r.left) / r.width); };
  box.addEventListener("pointerdown", (e) => { e.preventDefault(); down = true; box.setPointerCapture(e.pointerId); at(e); });
  box.addEventListener("pointermove", (e) => { if (down) at(e); });
  box.addEventListener("pointerup", () => { down = false; });
  box.tabIndex = 0;
  box.addEventListener("keydown", (e) => {
    const f = Number(box.dataset.split || 0.5);
    if (e.key === "ArrowLeft") setSplit(f - 0.05); if (e.key === "ArrowRight") setSplit(f + 0.05);
  });
}

// 5. queue
async function startJob() {
  try { const job = await api("POST", "/api/jobs", { video_id: state.current.id, settings: settings() }); await refreshQueue(); watch(job.id, updateRow); }
  catch (err) { alert(err.message); }
}
function jobRow(job) {
  const li = el("li", { "data-id": job.id, class: "job" });
  updateRow(job, li);
  return li;
}
function updateRow(job, li) {
  li = li || document.querySelector(`#queue li[data-id="${job.id}"]`);
  if (!li) return;
  const pct = job.frames_total ? Math.min(100, 100 * job.frames_done / job.frames_total) : (job.state === "done" ? 100 : 0);
  const act = (name, label) => el("button", { type: "button", class: "act-" + name, onclick: () => jobAction(job.id, name) }, label);
  const buttons = [];
  if (job.state === "running" || job.state === "queued") buttons.push(act("pause", "pause"), act("cancel", "cancel"));
  if (job.state === "paused" || job.state === "failed") buttons.push(act("resume", "resume"), act("cancel", "cancel"));
  if (!["running", "queued"].includes(job.state)) buttons.push(act("delete", "delete"));
  const links = job.state === "done" ? [
    el("a", { href: `/api/jobs/${job.id}/output`, class: "download" }, `download ${job.download_name}`),
    el("a", { href: `/api/jobs/${job.id}/frame/compare.png`, class: "compare-png",
      onclick: (e) => { e.currentTarget.href = `/api/jobs/${job.id}/frame/compare.png?t=${Number($("#moment").value).toFixed(3)}`; } },
      "before/after PNG (at the chosen moment)"),
    el("a", { href: `/api/jobs/${job.id}/report` }, "report")] : [];
  const eta = job.eta_seconds != null ? `, ETA ${fmtTime(job.eta_seconds)}` : "";
  li.dataset.state = job.state;
  li.replaceChildren(
    el("b", {}, job.download_name), " ", el("span", { class: "state " + job.state }, job.state), " ",
    el("span", { class: "bar" }, Object.assign(el("span"), { style: `width:${pct}%` })),
    el("span", { class: "pct" }, ` ${pct.toFixed(0)}%`),
    ` ${job.frames_done}/${job.frames_total} frames${job.fps ? `, ${job.fps.toFixed(2)} fps` : ""}${eta} `,
    ...buttons, job.error ? el("div", { class: "error" }, job.error) : "", el("div", {}, ...links));
}
async function jobAction(id, name) {
  try {
    if (name === "delete") await api("DELETE", `/api/jobs/${id}`); else await api("POST", `/api/jobs/${id}/${name}`);
  } catch (err) { alert(err.message); }
  await refreshQueue();
}
async function refreshQueue() {
  const jobs = await api("GET", "/api/jobs?kind=full");
  $("#queue").replaceChildren(...jobs.map(jobRow));
  for (const j of jobs) if (!["done", "failed", "cancelled"].includes(j.state) && !state.streams[j.id]) watch(j.id, updateRow);
}

async function main() {
  state.info = await api("GET", "/api/info");
  $("#version").textContent = "v" + state.info.version;
  fillModels();
  setupDrop(); setupSlider(); setupPlayback();
  document.querySelectorAll("#presets button").forEach((b) => b.addEventListener("click", () => applyPreset(b.dataset.preset)));
  $("#model").addEventListener("change", updateExpected); $("#scale").addEventListener("change", updateExpected);
  $("#moment").addEventListener("input", (e) => setMoment(e.target.value));
  $("#preview-btn").addEventListener("click", renderPreview);
  $("#start-job").addEventListener("click", startJob);
  for (const v of await api("GET", "/api/videos")) addVideo(v, false);
  if (state.info.allow_dirs) await loadLocal();
  await refreshQueue();
  document.body.dataset.ready = "1";
}
main().catch((err) => { document.body.prepend(el("p", { class: "error" }, "vidsr: " + err.message)); });
