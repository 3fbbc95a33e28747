// A conversation panel for endpoints of kind session (discovery's SESSION entries): open a
// session with the endpoint's parameters, send messages and read the replies, close it. It uses
// the JSON routes NAME/open, NAME/send and NAME/close, as curl would.
import { api } from './auth.js';
import { el } from './dom.js';

async function post(url, body) {
  const resp = await api(url, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', Accept: 'application/json' },
    body: JSON.stringify(body),
  });
  let parsed;
  try {
    parsed = await resp.json();
  } catch (e) {
    parsed = { status: 'error', type: 'BadAnswer', message: 'HTTP ' + resp.status };
  }
  if (!resp.ok || parsed.status !== 'success') {
    const err = new Error((parsed.type || 'Error') + ': ' + (parsed.message || 'HTTP ' + resp.status));
    err.status = resp.status;
    throw err;
  }
  return parsed.result;
}

/** The panel for one SESSION entry; `paramField(formId, p)` renders a parameter input. */
export function chatPanel(entry, paramField, slug) {
  const id = 'chat-' + slug(entry.name);
  const panel = el('div', { class: 'chat', id, 'data-session-endpoint': entry.name, 'data-state': 'closed' });
  const openForm = el('form', { class: 'chat-open', 'data-role': 'open' });
  for (const p of entry.params || []) openForm.append(paramField(id, p));
  const openBtn = el('button', { type: 'submit', text: 'Open session' });
  const closeBtn = el('button', { type: 'button', text: 'Close session', disabled: '' });
  openForm.append(el('div', { class: 'buttons' }, openBtn, closeBtn));
  const status = el('p', { class: 'hint', role: 'status', 'data-role': 'status', text: 'No session open.' });
  const log = el('ol', { class: 'chat-log', 'data-role': 'log', 'aria-live': 'polite', 'aria-label': 'Conversation' });
  const input = el('input', { type: 'text', id: id + '-message', name: 'message', autocomplete: 'off', disabled: '' });
  const sendBtn = el('button', { type: 'submit', text: 'Send', disabled: '' });
  const sendForm = el('form', { class: 'chat-send', 'data-role': 'send' },
    el('label', { for: id + '-message', text: 'Message' }), input, sendBtn);
  panel.append(openForm, status, log, sendForm);

  let session = null;
  const line = (who, text, extra) => log.append(el('li', Object.assign({ class: who, 'data-who': who, text }, extra || {})));
  const setOpen = (open) => {
    panel.dataset.state = open ? 'open' : 'closed';
    openBtn.disabled = open;
    closeBtn.disabled = !open;
    input.disabled = !open;
    sendBtn.disabled = !open;
  };
  const ended = (why) => {
    session = null;
    setOpen(false);
    status.textContent = why;
    document.dispatchEvent(new CustomEvent('jobs-changed'));
  };

  openForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const values = {};
    for (const [k, v] of new FormData(openForm).entries()) if (v !== '') values[k] = v;
    openBtn.disabled = true;
    status.textContent = 'Opening…';
    try {
      const r = await post(entry.routes.open, values);
      session = r.session;
      panel.dataset.session = session;
      log.replaceChildren();
      setOpen(true);
      status.textContent = 'Session ' + session + ' on ' + r.server + ' (closed after ' + r.idle_timeout + ' s idle).';
      input.focus();
      document.dispatchEvent(new CustomEvent('jobs-changed'));
    } catch (err) {
      ended('Could not open: ' + err.message);
    }
  });

  sendForm.addEventListener('submit', async (e) => {
    e.preventDefault();
    const text = input.value;
    if (!session || text === '') return;
    input.value = '';
    line('user', text);
    sendBtn.disabled = true;
    try {
      const r = await post(entry.routes.send, { session, message: text });
      line('inferlet', r.reply);
      if (r.ended) ended('The inferlet ended the session.');
      else sendBtn.disabled = false;
    } catch (err) {
      line('error', err.message, { role: 'alert' });
      if (err.status === 410 || err.status === 404 || err.status === 502) ended('Session over: ' + err.message);
      else sendBtn.disabled = false;
    }
  });

  closeBtn.addEventListener('click', async () => {
    if (!session) return;
    try {
      await post(entry.routes.close, { session });
      ended('Session closed.');
    } catch (err) {
      ended('Session over: ' + err.message);
    }
  });
  return panel;
}
