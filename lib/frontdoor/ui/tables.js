// The job list (gateway/jobs, with cancel) and the Pie servers (gateway/servers), refreshed
// while the page is visible (and not waiting for a token). With access on, the job list holds
// the caller's own jobs (an admin's: everyone's, with the client of each).
import { RunView, watchJob } from './stream.js';
import { api, tokenNeeded } from './auth.js';

async function getJson(url) {
  const resp = await api(url, { headers: { Accept: 'application/json' } });
  const body = await resp.json();
  if (!resp.ok || body.status !== 'success') throw new Error(body.message || resp.statusText);
  return body.result;
}

function cell(text, attrs) {
  const td = document.createElement('td');
  td.textContent = text === undefined || text === null ? '' : String(text);
  for (const [k, v] of Object.entries(attrs || {})) td.setAttribute(k, v);
  return td;
}

function button(text, label, onClick) {
  const b = document.createElement('button');
  b.type = 'button';
  b.textContent = text;
  b.setAttribute('aria-label', label);
  b.addEventListener('click', onClick);
  return b;
}

export async function cancelJob(id) {
  const resp = await api('gateway/cancel', {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify({ UUID: id }),
  });
  const body = await resp.json().catch(() => ({}));
  if (!resp.ok) throw new Error(body.message || resp.statusText);
}

let watching = null;

/** Shows a job's events (from the start) below the job list. */
export function showJobEvents(id) {
  if (watching) watching.close();
  const box = document.getElementById('job-watch');
  const heading = document.createElement('h3');
  heading.textContent = 'Events of job ' + id;
  const area = document.createElement('div');
  box.replaceChildren(heading, area);
  const view = new RunView(area);
  const source = watchJob(id, (name, data) => {
    view.show(name, data);
    if (name === 'result' || name === 'error') source.close();
  });
  watching = source;
}

export class JobTable {
  constructor(onChange) {
    this.body = document.querySelector('#jobs-table tbody');
    this.status = document.getElementById('jobs-status');
    this.state = document.getElementById('jobs-state');
    this.auto = document.getElementById('jobs-auto');
    this.onChange = onChange;
    document.getElementById('jobs-controls').addEventListener('submit', (e) => {
      e.preventDefault();
      this.refresh();
    });
    this.state.addEventListener('change', () => this.refresh());
    setInterval(() => {
      if (this.auto.checked && !document.hidden && !tokenNeeded()) this.refresh();
    }, 1000);
  }

  async refresh() {
    const query = new URLSearchParams({ limit: '50' });
    if (this.state.value) query.set('state', this.state.value);
    let jobs;
    try {
      jobs = await getJson('gateway/jobs?' + query);
    } catch (e) {
      this.status.textContent = 'Could not list jobs: ' + e.message;
      return;
    }
    const rows = jobs.map((j) => this.row(j));
    this.body.replaceChildren(...rows);
    const running = jobs.filter((j) => j.state === 'running' || j.state === 'queued').length;
    this.status.textContent = jobs.length + ' jobs shown, ' + running + ' queued or running.';
    if (this.onChange) this.onChange(jobs);
  }

  row(j) {
    const tr = document.createElement('tr');
    tr.dataset.job = j.id;
    tr.dataset.state = j.state;
    const id = cell(j.id.slice(0, 8), { title: j.id, class: 'mono' });
    const created = new Date(j.created).toLocaleTimeString();
    const error = j.error ? j.error.type + ': ' + j.error.message : '';
    const state = cell(j.state + (j.async ? ' (async)' : ''), { 'data-role': 'state', title: error });
    const actions = document.createElement('td');
    actions.append(button('Events', 'Show the events of job ' + j.id, () => showJobEvents(j.id)));
    if (j.state === 'queued' || j.state === 'running') {
      actions.append(button('Cancel', 'Cancel job ' + j.id, async () => {
        try {
          await cancelJob(j.id);
        } catch (e) {
          this.status.textContent = 'Cancel failed: ' + e.message;
        }
        this.refresh();
      }));
    }
    tr.append(id, cell(j.endpoint), state, cell(created), cell(j.seconds_running.toFixed(2)), cell(j.server), actions);
    return tr;
  }
}

export class ServerTable {
  constructor(onChange) {
    this.body = document.querySelector('#servers-table tbody');
    this.status = document.getElementById('servers-status');
    this.onChange = onChange;
    setInterval(() => {
      if (!document.hidden && !tokenNeeded()) this.refresh();
    }, 3000);
  }

  async refresh() {
    let servers;
    try {
      servers = await getJson('gateway/servers');
    } catch (e) {
      this.status.textContent = 'Could not list the Pie servers: ' + e.message;
      return;
    }
    this.body.replaceChildren(...servers.map((s) => {
      const tr = document.createElement('tr');
      tr.dataset.server = s.name;
      tr.append(cell(s.name), cell(s.uri, { class: 'mono' }), cell(s.state, { 'data-role': 'state' }),
        cell(s.sessions_open + ' of ' + s.sessions), cell(s.instances_in_flight), cell(s.queued),
        cell(s.launches), cell(s.last_error));
      return tr;
    }));
    this.status.textContent = '';
    if (this.onChange) this.onChange(servers);
  }
}
