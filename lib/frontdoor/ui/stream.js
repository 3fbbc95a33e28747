// Streams of job events (Server-Sent Events, see README: "Server-Sent Events") and the view
// that shows one run: status, live stdout/stderr/messages, blobs and the final result.
import { api } from './auth.js';
import { el } from './dom.js';

/**
 * Calls `url` with Accept: text/event-stream and hands each event to `onEvent(name, data, id)`.
 * Resolves when the stream ends: 'refused' (an error envelope, given to onEvent as `error`),
 * 'empty' (204: nothing more to send) or 'ended'.
 */
export async function fetchEvents(url, init, onEvent) {
  const headers = Object.assign({}, init.headers || {}, { Accept: 'text/event-stream' });
  const resp = await api(url, Object.assign({}, init, { headers }));
  if (resp.status === 204) return 'empty';
  const type = resp.headers.get('Content-Type') || '';
  if (!type.startsWith('text/event-stream')) {
    // Refused before it started (400, 401, 404, 503...): a JSON error envelope.
    const body = await resp.json().catch(() => ({ type: 'HTTPError', message: resp.statusText }));
    onEvent('error', Object.assign({ http_status: resp.status }, body));
    return 'refused';
  }
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) break;
    buffer += value.replace(/\r\n?/g, '\n');
    let end;
    while ((end = buffer.indexOf('\n\n')) >= 0) {
      const block = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      let name = 'message';
      let id = null;
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;  // a comment (keep-alive)
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') name = val;
        else if (field === 'data') data.push(val);
        else if (field === 'id') id = val;
      }
      if (data.length) onEvent(name, JSON.parse(data.join('\n')), id);
    }
  }
  return 'ended';
}

/**
 * Follows an existing job's events; after a dropped connection it resumes from the last event
 * seen (Last-Event-ID), as EventSource would, a bounded number of times. `close()` stops it.
 */
export function watchJob(id, onEvent) {
  const abort = new AbortController();
  const url = 'gateway/jobs/' + encodeURIComponent(id) + '/events';
  let last = null;
  let over = false;
  const seen = (name, data, eventId) => {
    if (eventId !== null) last = eventId;
    if (name === 'result' || name === 'error') over = true;
    onEvent(name, data);
  };
  (async () => {
    for (let attempt = 0; attempt < 30 && !over && !abort.signal.aborted; attempt++) {
      if (attempt) await new Promise((r) => setTimeout(r, 1000));
      try {
        const headers = last !== null ? { 'Last-Event-ID': last } : {};
        const how = await fetchEvents(url, { headers, signal: abort.signal }, seen);
        if (how !== 'ended') return;  // refused (shown) or nothing more to send
      } catch (e) {
        if (abort.signal.aborted) return;
      }
    }
    if (!over && !abort.signal.aborted) onEvent('error', { type: 'StreamClosed', message: 'the event stream closed' });
  })();
  return { close: () => abort.abort() };
}

/** Downloads `url` (a job's blob) with the token, as a plain link could not. */
async function download(url, name) {
  const resp = await api(url);
  if (!resp.ok) throw new Error('HTTP ' + resp.status);
  const href = URL.createObjectURL(await resp.blob());
  const a = el('a', { href, download: name });
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(href), 60000);
}

/** One run's view inside `container`: feed it events with `show(name, data)`. */
export class RunView {
  constructor(container) {
    this.root = el('div', { class: 'run', 'data-role': 'run', 'data-state': 'starting' });
    this.status = el('p', { class: 'run-status', role: 'status', text: 'Starting…' });
    this.outCaption = el('p', { class: 'caption', text: 'Output, as it streams' });
    this.out = el('pre', { class: 'out', 'data-role': 'output', 'aria-label': 'Output' });
    this.outCaption.hidden = true;
    this.err = el('pre', { class: 'err', 'data-role': 'stderr', 'aria-label': 'Errors written by the inferlet' });
    this.messages = el('ul', { class: 'messages', 'data-role': 'messages', 'aria-label': 'Messages' });
    this.result = el('div', { class: 'result', 'data-role': 'result', 'aria-live': 'polite' });
    this.err.hidden = true;
    this.messages.hidden = true;
    this.root.append(this.status, this.outCaption, this.out, this.err, this.messages, this.result);
    container.replaceChildren(this.root);
    this.job = null;
  }

  setState(state, text) {
    this.root.dataset.state = state;
    this.status.textContent = text;
  }

  show(name, d) {
    switch (name) {
      case 'job':
        this.job = d.job;
        this.root.dataset.job = d.job;
        this.setState('queued', 'Job ' + d.job + ' is waiting for a Pie server…');
        break;
      case 'started':
        this.job = d.job;
        this.root.dataset.job = d.job;
        this.setState('running', 'Running on ' + d.server + ' (instance ' + d.instance_id + ')…');
        break;
      case 'stdout':
        this.outCaption.hidden = false;
        this.out.append(d.text);
        if (this.root.dataset.state !== 'running') this.setState('running', 'Running…');
        break;
      case 'stderr':
        this.err.hidden = false;
        this.err.append(d.text);
        break;
      case 'message':
        this.messages.hidden = false;
        this.messages.append(el('li', { text: d.text }));
        break;
      case 'blob': {
        const link = el('a', { href: d.url, download: 'blob-' + d.index, text: 'Blob ' + d.index + ' (' + d.size + ' bytes)' });
        link.addEventListener('click', (e) => {
          e.preventDefault();
          download(d.url, 'blob-' + d.index).catch((err) => link.after(el('span', { class: 'error', text: ' ' + err.message })));
        });
        this.result.append(el('p', {}, link));
        break;
      }
      case 'gap':
        this.out.append(el('mark', { text: '[' + d.note + ']' }));
        break;
      case 'result':
        this.showResult(d);
        this.setState('done', 'Completed' + (this.job ? ' (job ' + this.job + ')' : '') + '.');
        break;
      case 'error':
        this.result.replaceChildren(el('p', { class: 'error', role: 'alert',
          text: (d.type || 'Error') + (d.http_status ? ' (HTTP ' + d.http_status + ')' : '') + ': ' + (d.message || '') }));
        this.setState('error', 'Failed.');
        break;
    }
  }

  showResult(d) {
    const box = el('div', { class: 'value', 'data-role': 'value', 'data-mimetype': d.mimetype || '' });
    const caption = el('p', { class: 'caption', text: 'Result' });
    if (d.encoding === 'base64') {
      const bytes = Uint8Array.from(atob(d.result), (c) => c.charCodeAt(0));
      const url = URL.createObjectURL(new Blob([bytes], { type: d.mimetype }));
      if ((d.mimetype || '').startsWith('image/')) {
        box.append(el('img', { src: url, alt: 'Result image (' + d.mimetype + ', ' + bytes.length + ' bytes)' }));
      }
      box.append(el('p', {}, el('a', { href: url, download: 'result', text: 'Download the result (' + d.mimetype + ', ' + bytes.length + ' bytes)' })));
    } else if (typeof d.result === 'string') {
      box.append(el('pre', { text: d.result }));
    } else {
      box.append(el('pre', { text: JSON.stringify(d.result, null, 2) }));
    }
    if (d.truncated) box.append(el('p', { class: 'error', text: 'Output was truncated at the gateway\'s cap.' }));
    this.result.replaceChildren(caption, box);
  }
}
