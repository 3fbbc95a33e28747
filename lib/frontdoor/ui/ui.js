// The gateway's built-in page: endpoints from discovery (GET /), a form per endpoint that calls
// it and streams its output, the job list and the Pie servers. Plain modules, no build step.
import { RunView, fetchEvents, watchJob } from './stream.js';
import { JobTable, ServerTable, cancelJob } from './tables.js';
import { chatPanel } from './chat.js';
import { el } from './dom.js';
import { api, setupAuth } from './auth.js';

const slug = (name) => name.replace(/[^A-Za-z0-9_-]/g, '-');

/** An input for one declared parameter. */
function paramField(formId, p) {
  const id = formId + '-' + p.name;
  const label = el('label', { for: id }, el('span', { class: 'pname', text: p.name }),
    el('span', { class: 'ptype', text: ' ' + p.type + (p.required ? ', required' : '') }));
  let input;
  if (p.type === 'bool') {
    input = el('select', { id, name: p.name }, el('option', { value: '', text: '(default)' }),
      el('option', { text: 'true' }), el('option', { text: 'false' }));
  } else {
    input = el('input', { id, name: p.name, type: p.type === 'int' || p.type === 'float' ? 'number' : 'text' });
    if (p.type === 'float') input.step = 'any';
    if (p.default !== undefined) input.placeholder = p.default;
    if (p.required) input.required = true;
  }
  const help = p.description ? el('span', { class: 'pdesc', id: id + '-help', text: p.description }) : null;
  if (help) input.setAttribute('aria-describedby', id + '-help');
  return el('div', { class: 'field' }, label, input, help);
}

/** Only the parameters the user filled in: the gateway applies the declared defaults. */
function formValues(form) {
  const out = {};
  for (const [k, v] of new FormData(form).entries()) if (v !== '') out[k] = v;
  return out;
}

function callForm(entry, method) {
  const formId = 'call-' + method.toLowerCase() + '-' + slug(entry.name);
  const form = el('form', { id: formId, class: 'call', 'data-endpoint': entry.name, 'data-method': method });
  for (const p of entry.params || []) form.append(paramField(formId, p));
  const submit = el('button', { type: 'submit', text: entry.async ? 'Submit job' : 'Call' });
  const stop = el('button', { type: 'button', class: 'stop', text: 'Cancel', disabled: '' });
  const area = el('div', { class: 'run-area', 'data-role': 'run-area' });
  form.append(el('div', { class: 'buttons' }, submit, stop, el('span', { class: 'method', text: method + ' /' + entry.name })), area);

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const values = formValues(form);
    const view = new RunView(area);
    const finish = (name) => name === 'result' || name === 'error';
    submit.disabled = true;
    stop.disabled = false;
    stop.onclick = async () => {
      if (!view.job) return;
      stop.disabled = true;
      try {
        await cancelJob(view.job);
      } catch (err) {
        view.setState('error', 'Cancel failed: ' + err.message);
      }
    };
    const url = entry.name + (method === 'GET' && Object.keys(values).length ? '?' + new URLSearchParams(values) : '');
    const init = method === 'POST'
      ? { method: 'POST', headers: { 'Content-Type': 'application/json' }, body: JSON.stringify(values) }
      : { method: 'GET' };
    try {
      if (entry.async) {
        // An async endpoint answers with a job handle at once; then follow the job's events.
        const resp = await api(url, Object.assign({}, init, { headers: Object.assign({ Accept: 'application/json' }, init.headers) }));
        const body = await resp.json();
        if (!resp.ok || body.status !== 'success') {
          view.show('error', Object.assign({ http_status: resp.status }, body));
        } else {
          view.show('job', { job: body.result.ID });
          document.dispatchEvent(new CustomEvent('jobs-changed'));
          await new Promise((resolve) => {
            const source = watchJob(body.result.ID, (name, data) => {
              view.show(name, data);
              if (finish(name)) {
                source.close();
                resolve();
              }
            });
          });
        }
      } else {
        await fetchEvents(url, init, (name, data) => view.show(name, data));
      }
    } catch (err) {
      view.show('error', { type: 'NetworkError', message: err.message });
    } finally {
      submit.disabled = false;
      stop.disabled = true;
      document.dispatchEvent(new CustomEvent('jobs-changed'));
    }
  });
  return form;
}

function renderEndpoints(discovery) {
  const list = document.getElementById('endpoint-list');
  const byName = new Map();
  for (const method of ['GET', 'POST']) {
    for (const entry of discovery[method] || []) {
      if (entry.name.startsWith('gateway/')) continue;  // built-ins: shown as the tables below
      if (!byName.has(entry.name)) byName.set(entry.name, []);
      byName.get(entry.name).push([method, entry]);
    }
  }
  const cards = [];
  for (const [name, methods] of byName) {
    const summary = el('summary', {}, el('span', { class: 'ename', text: name }),
      ...methods.map(([m, e]) => el('span', { class: 'badge', text: m + (e.async ? ' async' : '') })));
    const card = el('details', { class: 'endpoint', id: 'endpoint-' + slug(name), 'data-endpoint': name }, summary);
    for (const [method, entry] of methods) {
      const box = el('div', { class: 'endpoint-method' },
        el('h3', { text: method + ' /' + name }),
        el('p', { class: 'desc', text: entry.description || '' }));
      if (entry.result_mimetype) box.append(el('p', { class: 'hint', text: 'Answers raw ' + entry.result_mimetype + '.' }));
      box.append(callForm(entry, method));
      card.append(box);
    }
    cards.push(card);
  }
  // Conversations (kind session): a chat panel each; their RPC methods are listed below too.
  for (const entry of discovery.SESSION || []) {
    const summary = el('summary', {}, el('span', { class: 'ename', text: entry.name }), el('span', { class: 'badge', text: 'session' }));
    const card = el('details', { class: 'endpoint', id: 'endpoint-' + slug(entry.name), 'data-endpoint': entry.name }, summary,
      el('div', { class: 'endpoint-method' }, el('h3', { text: 'Conversation: POST /' + entry.routes.open + ', /' +
        entry.routes.send + ', /' + entry.routes.close }), el('p', { class: 'desc', text: entry.description || '' }),
        chatPanel(entry, paramField, slug)));
    cards.push(card);
  }
  list.replaceChildren(...cards);
  list.setAttribute('aria-busy', 'false');

  const rpcs = [...(discovery.RPC || []).map((e) => [e, false]), ...(discovery.ASYNCRPC || []).map((e) => [e, true])];
  const rpcBox = document.getElementById('rpc-list');
  if (rpcs.length) {
    const items = rpcs.map(([e, async]) => el('li', {}, el('code', { text: 'c.' + e.name.replace(/\//g, '_') + '(...)' }),
      el('span', { text: ' ' + (async ? '(async) ' : '') + (e.description || '') })));
    rpcBox.replaceChildren(el('h3', { text: 'RPC endpoints (for the TARP Python client)' }), el('ul', {}, ...items));
  }
  return byName.size + (discovery.SESSION || []).length;
}

async function boot() {
  setupAuth();
  const summary = document.getElementById('summary');
  let endpoints = 0;
  let jobsRunning = 0;
  let servers = [];
  const update = () => {
    const healthy = servers.filter((s) => s.state === 'healthy').length;
    summary.textContent = endpoints + ' endpoints · ' + healthy + ' of ' + servers.length +
      ' Pie servers healthy · ' + jobsRunning + ' jobs queued or running';
  };
  const jobs = new JobTable((list) => {
    jobsRunning = list.filter((j) => j.state === 'running' || j.state === 'queued').length;
    update();
  });
  const serverTable = new ServerTable((list) => {
    servers = list;
    update();
  });
  document.addEventListener('jobs-changed', () => jobs.refresh());
  try {
    const resp = await api('./', { headers: { Accept: 'application/json' } });
    const body = await resp.json();
    if (resp.status === 401) {
      summary.textContent = 'Enter an access token to see the endpoints and jobs.';
      return;
    }
    endpoints = renderEndpoints(body.result);
    update();
  } catch (e) {
    summary.textContent = 'Could not read the endpoints: ' + e.message;
  }
  jobs.refresh();
  serverTable.refresh();
}

boot();
