// The page of `animate serve`: fills its forms from /api/config, submits jobs and follows
// them through server-sent events. It talks only to the server that served it.
"use strict";

const STAGE_NAMES = { aligning: "finding the best frame", animating: "animating", scanning: "looking for faces", writing: "writing clips", "loading model": "loading the model", verifying: "looking for the watermark" };
const VERDICTS = { marked: "Marked as AI-generated", not_marked: "Not marked: no credentials, label or watermark found", tampered: "Tampered: its Content Credentials do not match its content", error: "Could not be read" };

let config = null;

function ordinal(n) {
  const suffix = n % 10 === 1 && n % 100 !== 11 ? "st" : n % 10 === 2 && n % 100 !== 12 ? "nd" : n % 10 === 3 && n % 100 !== 13 ? "rd" : "th";
  return `${n}${suffix}`;
}

function fillSelect(select, values, selected) {
  select.replaceChildren(...values.map((value) => new Option(value, value, false, value === selected)));
}

function setUpForms() {
  for (const select of document.querySelectorAll("select[data-choices]")) {
    const name = select.dataset.choices;
    fillSelect(select, config.choices[name], String(config.defaults[name]));
  }
  fillSelect(document.getElementById("checkpoint"), config.checkpoints, config.checkpoints[0]);
  // Catalogue models not fetched yet: the command that fetches each (the server never downloads).
  const fetchable = document.getElementById("fetchable-models");
  fetchable.hidden = !config.fetchable_models.length;
  fetchable.querySelector("ul").replaceChildren(...config.fetchable_models.map((model) => {
    const item = document.createElement("li");
    const command = document.createElement("code");
    command.textContent = model.command;
    const kind = model.domain === "body" ? "whole figures" : "faces";
    item.append(`${model.name} (${kind}, ${model.licence}): `, command);
    return item;
  }));
  document.getElementById("adapt_scale").checked = config.defaults.adapt_scale;
  document.getElementById("min_seconds").value = config.defaults.min_seconds;
  for (const select of document.querySelectorAll("select.examples")) {
    const kind = select.dataset.accept;
    const names = config.examples.filter((name) => kind === "image" ? /\.(png|jpe?g|webp|bmp|tiff?)$/i.test(name) : /\.(mp4|mov|mkv|webm|avi|m4v)$/i.test(name));
    select.replaceChildren(new Option("none", ""), ...names.map((name) => new Option(name, name)));
  }
  document.getElementById("limits").textContent =
    `Limits of this server: ${config.max_upload_mb} MB per job, videos up to ${config.max_video_seconds} s. One job runs at a time; others wait in line. Closing the page cancels its job and deletes its files.`;
  for (const box of document.querySelectorAll(".drop")) setUpDrop(box);
}

function showPreview(box, url) {
  const preview = box.querySelector(".preview");
  preview.hidden = !url;
  if (url) preview.src = url;
  else preview.removeAttribute("src");
}

function setUpDrop(box) {
  const input = box.querySelector("input[type=file]");
  const examples = box.querySelector("select.examples");
  input.addEventListener("change", () => {
    if (input.files.length && examples) {
      examples.value = "";
      showPreview(box, URL.createObjectURL(input.files[0]));
    }
  });
  if (examples) examples.addEventListener("change", () => {
    if (examples.value) input.value = "";
    showPreview(box, examples.value ? `/api/examples/${encodeURIComponent(examples.value)}` : null);
  });
  box.addEventListener("dragover", (event) => { event.preventDefault(); box.classList.add("dragging"); });
  box.addEventListener("dragleave", () => box.classList.remove("dragging"));
  box.addEventListener("drop", (event) => {
    event.preventDefault();
    box.classList.remove("dragging");
    if (event.dataTransfer.files.length) {
      input.files = event.dataTransfer.files;
      input.dispatchEvent(new Event("change"));
    }
  });
}

// The marks an output carries (the job's `provenance`), one line each.
function marksList(marks) {
  const list = document.createElement("ul");
  list.className = "marks";
  const watermark = marks.watermark.embedded ? `embedded (output id ${marks.watermark.output_id})` : "off";
  const creds = marks.credentials;
  const credentials = creds.signed ? `signed, ${creds.signer}` : `not signed (${creds.reason})`;
  const label = marks.label ? "AI-generated label in the file's metadata" : "off";
  for (const [name, text] of [["Invisible watermark", watermark], ["Content Credentials", credentials], ["Label", label]]) {
    const item = document.createElement("li");
    item.textContent = `${name}: ${text}`;
    list.append(item);
  }
  return list;
}

// What `verify` found in an uploaded file.
function verificationView(found) {
  const box = document.createElement("div");
  box.className = `verdict ${found.verdict}`;
  const title = document.createElement("h2");
  title.textContent = `${found.path}: ${VERDICTS[found.verdict] || found.verdict}`;
  const list = document.createElement("ul");
  list.className = "marks";
  const creds = found.credentials;
  let credentials = creds.state;
  if (creds.state === "valid") {
    const agent = creds.software_agent || {};
    credentials = `valid${creds.trusted_signer ? "" : " (signer not on a trust list: proves integrity, not identity)"}; made by ${agent.name || "?"} ${agent.version || ""}${agent.model ? `, model ${agent.model}` : ""}${creds.ai_generated ? ", AI-generated" : ""}`;
  } else if (creds.state === "tampered") {
    credentials = `tampered (${creds.codes.join(", ")})`;
  }
  const label = found.label.present ? `present${found.label.ai_generated ? ", says AI-generated" : ""}${found.label.tool ? ` (${found.label.tool})` : ""}` : "absent";
  const mark = found.watermark;
  let watermark = "not checked";
  if (mark) {
    const windows = `${mark.windows_detected} of ${mark.windows} one-second windows, strongest z ${mark.max_z} ${mark.hypothesis} (threshold ${mark.z_threshold})`;
    watermark = mark.detected ? `detected in ${windows}; output id ${mark.output_id || "unreadable"}` : `not detected (${windows})`;
  }
  const lines = [["Content Credentials", credentials], ["Label", label], ["Invisible watermark", watermark]];
  if (found.error) lines.push(["Error", found.error]);
  for (const [name, text] of lines) {
    const item = document.createElement("li");
    item.textContent = `${name}: ${text}`;
    list.append(item);
  }
  box.append(title, list);
  return box;
}

// One job per form: a new start or leaving the page closes the stream, which lets the
// server cancel the old job and delete its files.
class JobView {
  constructor(form, panel) {
    this.form = form;
    this.panel = panel;
    this.start = form.querySelector("button[type=submit]");
    this.cancelButton = form.querySelector(".cancel");
    this.events = null;
    this.jobId = null;
    form.addEventListener("submit", (event) => { event.preventDefault(); this.submit(); });
    this.cancelButton.addEventListener("click", () => this.cancel());
  }

  part(selector) { return this.panel.querySelector(selector); }

  reset() {
    if (this.events) this.events.close();
    this.events = null;
    this.panel.hidden = false;
    this.part(".error").hidden = true;
    this.part(".notices").replaceChildren();
    this.part(".outputs").replaceChildren();
    this.part("progress").hidden = true;
  }

  fail(message) {
    const error = this.part(".error");
    error.textContent = `error: ${message}`;
    error.hidden = false;
    this.part(".status").textContent = "failed";
    this.part("progress").hidden = true;
    this.busy(false);
  }

  busy(running) {
    this.start.disabled = running;
    this.cancelButton.hidden = !running;
  }

  async submit() {
    this.reset();
    const data = new FormData(this.form);
    const adapt = this.form.querySelector("#adapt_scale");
    if (adapt) data.set("adapt_scale", adapt.checked ? "on" : "off");
    let bytes = 0;
    for (const value of data.values()) if (value instanceof File) bytes += value.size;
    if (bytes > config.max_upload_bytes) {
      this.fail(`the upload is larger than this server's limit of ${config.max_upload_mb} MB (animate serve --max-upload-mb)`);
      return;
    }
    this.busy(true);
    this.part(".status").textContent = "uploading…";
    let response;
    try {
      response = await fetch("/api/jobs", { method: "POST", body: data });
    } catch (error) {
      this.fail(`the server could not be reached (${error.message})`);
      return;
    }
    const answer = await response.json().catch(() => ({ error: `the server answered ${response.status}` }));
    if (!response.ok) {
      this.fail(answer.error);
      return;
    }
    this.follow(answer.id);
  }

  follow(id) {
    this.jobId = id;
    this.finished = false;
    this.events = new EventSource(`/api/jobs/${id}/events`);
    this.events.onmessage = (message) => this.render(JSON.parse(message.data));
    this.events.onerror = () => {
      // EventSource retries by itself; CLOSED means the server is gone for good.
      if (this.events.readyState === EventSource.CLOSED && !this.finished) this.fail("lost the connection to the server");
    };
  }

  cancel() {
    if (this.jobId) fetch(`/api/jobs/${this.jobId}`, { method: "DELETE" });
    if (this.events) this.events.close();
    this.events = null;
    this.part(".status").textContent = "cancelled";
    this.part("progress").hidden = true;
    this.busy(false);
  }

  render(job) {
    this.finished = ["done", "failed", "cancelled"].includes(job.state);
    const status = this.part(".status");
    const bar = this.part("progress");
    const progress = job.progress;
    this.part(".notices").replaceChildren(...progress.notices.map((text) => {
      const item = document.createElement("li");
      item.textContent = `note: ${text}`;
      return item;
    }));
    if (job.state === "queued") {
      const running = job.queue.running ? ", one job running" : "";
      status.textContent = `waiting in line: ${ordinal(job.position)} of ${job.queue.waiting}${running}`;
      bar.hidden = true;
    } else if (job.state === "running") {
      const stage = STAGE_NAMES[progress.stage] || progress.stage || "starting";
      const frames = progress.total ? `: ${progress.done} / ${progress.total} frames` : progress.done ? `: ${progress.done} frames` : "…";
      const rate = progress.fps ? `, ${progress.fps.toFixed(1)} fps` : "";
      const eta = progress.eta !== null ? `, about ${Math.ceil(progress.eta)} s left` : "";
      const waiting = job.queue.waiting ? ` (${job.queue.waiting} waiting after it)` : "";
      status.textContent = `${stage}${frames}${rate}${eta}${waiting}`;
      bar.hidden = false;
      if (progress.total) { bar.max = progress.total; bar.value = progress.done; } else bar.removeAttribute("value");
    } else if (job.state === "done") {
      status.textContent = `done in ${job.seconds} s`;
      bar.hidden = true;
      this.showOutputs(job);
      this.busy(false);
    } else if (job.state === "failed") {
      this.fail(job.error);
    } else if (job.state === "cancelled") {
      status.textContent = "cancelled";
      bar.hidden = true;
      this.busy(false);
    }
  }

  showOutputs(job) {
    const outputs = this.part(".outputs");
    if (outputs.childElementCount) return;
    if (job.verification) {
      outputs.append(verificationView(job.verification));
      return;
    }
    if (!job.outputs.length) outputs.textContent = "nothing was produced";
    for (const output of job.outputs) {
      const item = document.createElement("figure");
      item.className = "output";
      const video = document.createElement("video");
      video.controls = true;
      video.preload = "auto";
      video.src = output.url;
      const label = document.createElement("p");
      label.textContent = output.label;
      const link = document.createElement("a");
      link.href = output.url;
      link.download = output.download;
      link.textContent = `Download ${output.download}`;
      item.append(video, label, link);
      if (output.marks) item.append(marksList(output.marks));
      outputs.append(item);
    }
  }
}

function setUpTabs() {
  for (const tab of document.querySelectorAll(".tab")) {
    tab.addEventListener("click", () => {
      for (const other of document.querySelectorAll(".tab")) {
        const selected = other === tab;
        other.setAttribute("aria-selected", String(selected));
        document.getElementById(other.dataset.tab).hidden = !selected;
      }
    });
  }
}

async function main() {
  setUpTabs();
  const response = await fetch("/api/config");
  config = await response.json();
  setUpForms();
  new JobView(document.getElementById("animate-form"), document.getElementById("animate-job"));
  new JobView(document.getElementById("crop-form"), document.getElementById("crop-job"));
  new JobView(document.getElementById("verify-form"), document.getElementById("verify-job"));
  document.body.dataset.ready = "true";
}

main();
