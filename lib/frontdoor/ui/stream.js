// Streams of job events (Server-Sent Events, see README: "Server-Sent Events") and the view
// that shows one run: status, live stdout/stderr/messages, blobs and the final result.
import { el } from './dom.js';

/** Calls `url` with Accept: text/event-stream and hands each event to `onEvent(name, data)`. */
export async function fetchEvents(url, init, onEvent) {
  const headers = Object.assign({}, init.headers || {}, { Accept: 'text/event-stream' });
  const resp = await fetch(url, Object.assign({}, init, { headers }));
  const type = resp.headers.get('Content-Type') || '';
  if (!type.startsWith('text/event-stream')) {
    // Refused before it started (400, 404, 503...): a JSON error envelope.
    const body = await resp.json().catch(() => ({ type: 'HTTPError', message: resp.statusText }));
    onEvent('error', Object.assign({ http_status: resp.status }, body));
    return;
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
      const data = [];
      for (const line of block.split('\n')) {
        if (line.startsWith(':')) continue;  // a comment (keep-alive)
        const colon = line.indexOf(':');
        const field = colon < 0 ? line : line.slice(0, colon);
        const val = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
        if (field === 'event') name = val;
        else if (field === 'data') data.push(val);
      }
      if (data.length) onEvent(name, JSON.parse(data.join('\n')));
    }
  }
}

/** Follows an existing job's events with EventSource (it resumes by itself after a drop). */
export function watchJob(id, onEvent) {
  const source = new EventSource('gateway/jobs/' + encodeURIComponent(id) + '/events');
  for (const name of ['started', 'stdout', 'stderr', 'message', 'blob', 'gap', 'result']) {
    source.addEventListener(name, (e) => onEvent(name, JSON.parse(e.data)));
  }
  source.addEventListener('error', (e) => {
    if (e.data !== undefined) {
      onEvent('error', JSON.parse(e.data));  // the job's own final error event
    } else if (source.readyState === EventSource.CLOSED) {
      onEvent('error', { type: 'StreamClosed', message: 'the event stream closed' });
    }
  });
  return source;
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
      case 'blob':
        this.result.append(el('p', {}, el('a', { href: d.url, download: 'blob-' + d.index, text: 'Blob ' + d.index + ' (' + d.size + ' bytes)' })));
        break;
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
