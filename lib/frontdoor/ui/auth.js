// The access token of a gateway with `access:` on. The page asks for it when a call answers 401,
// keeps it in sessionStorage (this tab only; never a cookie), sends it as
// `Authorization: Bearer` on every request (event streams too: they are fetched, not
// EventSource, which cannot send headers), and offers to forget it.
const KEY = 'pie-gateway-token';
let needed = false;

function stored() {
  try {
    return sessionStorage.getItem(KEY) || '';
  } catch (e) {
    return '';  // storage blocked: the token is asked for again on each load
  }
}

/** True once the gateway answered 401 and no token is held: polling stops until one is given. */
export function tokenNeeded() {
  return needed;
}

/** fetch() with the token, if any; a 401 shows the token form. */
export async function api(url, init = {}) {
  const headers = new Headers(init.headers || {});
  const token = stored();
  if (token) headers.set('Authorization', 'Bearer ' + token);
  const resp = await fetch(url, Object.assign({}, init, { headers, credentials: 'omit' }));
  if (resp.status === 401) {
    const body = await resp.clone().json().catch(() => ({}));
    ask(token ? 'The gateway refused this token: ' + (body.message || 'HTTP 401') : 'This gateway needs an access token.');
  }
  return resp;
}

function ask(why) {
  needed = true;
  const form = document.getElementById('auth');
  document.getElementById('auth-why').textContent = why;
  if (form.hidden) {
    form.hidden = false;
    document.getElementById('auth-token').focus();
  }
}

/** Wires the token form and the forget button (index.html). */
export function setupAuth() {
  const form = document.getElementById('auth');
  const held = document.getElementById('auth-held');
  held.hidden = !stored();
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const token = document.getElementById('auth-token').value.trim();
    if (!token) return;
    sessionStorage.setItem(KEY, token);
    location.reload();  // everything again, with the token
  });
  document.getElementById('auth-forget').addEventListener('click', () => {
    sessionStorage.removeItem(KEY);
    location.reload();
  });
}
