// A browser session's card: its status, the live viewer while it is open, then its replay once
// it has closed: the frames on a timeline (a slider, play) and the MP4 when ffmpeg made one.
// Pages ask it for the frame at a moment (`showAt`) and hear when the shown frame changes.
import * as api from "./api.js";
import { badge, esc, when } from "./ui.js";

const POLL_MS = 1500;
const REPLAY_WAIT_TRIES = 120; // the MP4 is encoded after the close: "not ready" until then

// "YYYY-MM-DD HH:MM:SS" (UTC, a log line's stamp) as epoch milliseconds; NaN when it is not one.
export function stampMs(stamp) { return Date.parse(stamp.trim().replace(" ", "T") + "Z"); }

export class SessionCard {
  constructor(box, sessionId, signal) {
    this.box = box;
    this.sessionId = sessionId;
    this.signal = signal;
    this.frames = [];
    this.index = -1;
    this.listeners = [];
    this.playing = null;
  }

  onFrame(listener) { this.listeners.push(listener); }

  alive() { return this.box.isConnected && !(this.signal && this.signal.aborted); }

  // Render the card and follow the session until its replay is on screen.
  async load() {
    const path = "/sessions/" + encodeURIComponent(this.sessionId);
    this.box.innerHTML = '<p><a href="#/sessions/' + esc(this.sessionId) + '" class="mono id">' + esc(this.sessionId) + "</a></p>" +
      '<p class="status" data-testid="session-status"></p><div class="live"></div><div class="replay"></div>';
    let session = await api.call("GET", path);
    while (session.status === "active" && this.alive()) {
      this.renderStatus(session);
      this.showViewer(session);
      await api.sleep(POLL_MS);
      session = await api.call("GET", path);
    }
    if (!this.alive()) return;
    this.renderStatus(session);
    this.box.querySelector(".live").innerHTML = "";
    await this.loadReplay(session);
  }

  renderStatus(session) {
    const status = this.box.querySelector(".status");
    status.dataset.status = session.status;
    status.innerHTML = badge(session.status === "active" ? "active" : "closed") + " " + esc(session.status) +
      (session.close_reason ? ' <span class="muted">(' + esc(session.close_reason) + ")</span>" : "") +
      ' <span class="muted">· opened ' + esc(when(session.created_at)) + "</span>";
  }

  // The live viewer (a page of the server at the session's `viewer_url`) while the session is open.
  showViewer(session) {
    const live = this.box.querySelector(".live");
    if (live.dataset.shown) return;
    live.dataset.shown = "1";
    if (session.viewer_url) {
      live.innerHTML = '<iframe class="viewer" data-testid="live-viewer" title="Live browser" src="' + esc(session.viewer_url) + '"></iframe>';
    } else {
      live.innerHTML = '<p class="muted" data-testid="live-viewer">The session is open; its replay shows here once it closes.</p>';
    }
  }

  async loadReplay(session) {
    const target = this.box.querySelector(".replay");
    let replay = null;
    for (let attempt = 0; attempt < REPLAY_WAIT_TRIES && this.alive(); attempt++) {
      try { replay = await api.call("GET", "/sessions/" + encodeURIComponent(this.sessionId) + "/replay"); break; }
      catch (error) {
        if (!(error instanceof api.ApiError && error.status === 404 && /not ready|still active/.test(error.message))) {
          target.innerHTML = '<p class="muted">Replay: ' + esc(error.message) + "</p>";
          return;
        }
        target.innerHTML = '<p class="muted">Replay: being prepared…</p>';
        await api.sleep(POLL_MS);
      }
    }
    if (!replay || !this.alive()) return;
    const start = Date.parse(session.created_at);
    this.frames = (replay.frames || []).map((frame) => ({
      src: api.signedPath(frame.image_url),
      url: frame.url,
      at: frame.at ? Date.parse(frame.at) : start + frame.t_ms,
    }));
    if (!this.frames.length) { target.innerHTML = '<p class="muted">No frames were recorded.</p>'; return; }
    target.innerHTML =
      '<div class="tabs row"><button class="secondary on" data-view="frames">Frames</button>' +
      (replay.mp4_url ? '<button class="secondary" data-view="video" data-testid="show-video">Video (MP4)</button>' : "") + "</div>" +
      '<div class="frames" data-testid="replay"><div class="stage"><img data-testid="replay-frame" alt="replay frame"></div>' +
      '<div class="row controls"><button class="secondary" data-testid="play">▶ Play</button>' +
      '<input type="range" min="0" max="' + (this.frames.length - 1) + '" value="0" data-testid="replay-slider" aria-label="frame">' +
      '</div><p class="muted caption" data-testid="frame-caption"></p></div>' +
      (replay.mp4_url ? '<div class="video" hidden><video controls preload="metadata" data-testid="replay-video" src="' +
        esc(api.signedPath(replay.mp4_url)) + '"></video></div>' : "");
    for (const tab of target.querySelectorAll("[data-view]")) {
      tab.addEventListener("click", () => {
        for (const other of target.querySelectorAll("[data-view]")) other.classList.toggle("on", other === tab);
        target.querySelector(".frames").hidden = tab.dataset.view !== "frames";
        const video = target.querySelector(".video");
        if (video) video.hidden = tab.dataset.view !== "video";
      });
    }
    target.querySelector("[data-testid=replay-slider]").addEventListener("input", (e) => { this.stop(); this.show(Number(e.target.value)); });
    target.querySelector("[data-testid=play]").addEventListener("click", () => this.togglePlay());
    this.show(0);
  }

  // Show frame `index` (clamped); listeners hear its index.
  show(index) {
    if (!this.frames.length) return;
    index = Math.max(0, Math.min(this.frames.length - 1, index));
    const frame = this.frames[index];
    this.index = index;
    const img = this.box.querySelector("[data-testid=replay-frame]");
    img.src = frame.src;
    img.dataset.index = String(index);
    img.dataset.url = frame.url;
    this.box.querySelector("[data-testid=replay-slider]").value = String(index);
    this.box.querySelector("[data-testid=frame-caption]").textContent =
      "frame " + (index + 1) + " of " + this.frames.length + " · " + new Date(frame.at).toLocaleTimeString() + " · " + frame.url;
    for (const listener of this.listeners) listener(index);
  }

  // The frame the page showed at `ms` (epoch): the last one taken by then, else the first.
  showAt(ms) {
    this.stop();
    this.show(this.indexAt(ms));
  }

  // The index of the frame the page showed at `ms` (epoch): the last one dated by then, else 0.
  indexAt(ms) {
    let found = 0;
    this.frames.forEach((frame, i) => { if (frame.at <= ms) found = i; });
    return found;
  }

  togglePlay() {
    if (this.playing) { this.stop(); return; }
    const button = this.box.querySelector("[data-testid=play]");
    button.textContent = "❚❚ Pause";
    if (this.index >= this.frames.length - 1) this.show(0);
    const step = () => {
      if (!this.alive() || this.index >= this.frames.length - 1) { this.stop(); return; }
      const gap = this.frames[this.index + 1].at - this.frames[this.index].at;
      this.playing = setTimeout(() => { this.show(this.index + 1); step(); }, Math.max(150, Math.min(1500, gap)));
    };
    this.playing = true;
    step();
  }

  stop() {
    if (this.playing && this.playing !== true) clearTimeout(this.playing);
    this.playing = null;
    const button = this.box.querySelector("[data-testid=play]");
    if (button) button.textContent = "▶ Play";
  }
}
