"""A TARP client written from ../shared/protocols/tarp.md, behaving as the lab's unchanged
`tarp.client.client(url)` does: discovery builds one method per endpoint ('/' -> '_'), GET
methods send keyword arguments as an (unencoded) query string, POST methods send a dict as JSON,
RPC methods send pickled args/kwargs, ASYNCRPC methods return a handle with wait(), status(),
probe() and waitCycle(); `server_key=` names the CA file an https:// server is verified against.
Used only by the test suite."""
import base64
import json
import pickle
import time

import requests


class OperationInProgress(Exception):
    def __init__(self, message, retry_after=5):
        super().__init__(message)
        self.retry_after = retry_after


class InvalidServerState(Exception):
    pass


class ApiError(Exception):
    def __init__(self, status, body):
        super().__init__(f"{status}: {body.get('message') if isinstance(body, dict) else body}")
        self.status = status
        self.body = body


def check(resp):
    """Returns (mimetype, result) of a success envelope, or (content type, bytes) for raw results."""
    if resp.status_code == 404:
        raise ApiError(404, _json_or_text(resp))
    if resp.status_code != 200:
        body = _json_or_text(resp)
        kind = body.get("type") if isinstance(body, dict) else None
        if kind == "OperationInProgress":
            raise OperationInProgress(body.get("message"), int(resp.headers.get("Retry-After", 5)))
        if kind == "InvalidServerState":
            raise InvalidServerState(body.get("message"))
        raise ApiError(resp.status_code, body)
    if resp.headers.get("Content-Type") != "application/json":
        return resp.headers.get("Content-Type"), resp.content
    body = resp.json()
    if body["status"] != "success":
        raise ApiError(resp.status_code, body)
    return body.get("mimetype"), body.get("result")


def _json_or_text(resp):
    try:
        return resp.json()
    except ValueError:
        return resp.text


def _b64pickle(value):
    return base64.b64encode(pickle.dumps(value)).decode("ascii")


class Handle:
    def __init__(self, client, job_id, suggested_wait):
        self.client = client
        self.id = job_id
        self.suggested_wait = suggested_wait

    def probe(self):
        _, result = check(requests.get(f"{self.client.url}/asyncProbe?UUID={self.id}", timeout=30, verify=self.client.verify))
        return result

    def status(self):
        return self.probe()["status"]

    def _fetch(self):
        _, result = check(requests.get(f"{self.client.url}/asyncGet?UUID={self.id}", timeout=30, verify=self.client.verify))
        return pickle.loads(base64.b64decode(result["payload"]))

    def wait(self, max_tries=200):
        for _ in range(max_tries):
            try:
                return self._fetch()
            except OperationInProgress as e:
                time.sleep(min(e.retry_after, 2))
        raise TimeoutError("job did not finish")

    def waitCycle(self):
        p = self.probe()
        if p["status"] == "in_progress":
            time.sleep(p["suggested_wait"])
            return None
        return self._fetch()


class Client:
    def __init__(self, url, server_key=None):
        self.url = url.rstrip("/")
        # server_key: the CA (or certificate) file an https:// server's certificate is checked against.
        self.verify = server_key if server_key else True
        _, self.discovery = check(requests.get(self.url + "/", timeout=30, verify=self.verify))
        for entry in self.discovery.get("GET", []):
            setattr(self, entry["name"].replace("/", "_"), self._get_method(entry["name"].replace("/", "_")))
        for entry in self.discovery.get("POST", []):
            setattr(self, entry["name"].replace("/", "_"), self._post_method(entry["name"].replace("/", "_")))
        for entry in self.discovery.get("RPC", []):
            setattr(self, entry["name"].replace("/", "_"), self._rpc_method(entry["name"].replace("/", "_")))
        for entry in self.discovery.get("ASYNCRPC", []):
            setattr(self, entry["name"].replace("/", "_"), self._async_method(entry["name"].replace("/", "_")))

    def _get_method(self, name):
        def call(**kwargs):
            params = "&".join(f"{k}={v}" for k, v in kwargs.items())
            return check(requests.get(f"{self.url}/{name}?{params}", timeout=60, verify=self.verify))
        return call

    def _post_method(self, name):
        def call(payload=None, **kwargs):
            url = f"{self.url}/{name}"
            params = "&".join(f"{k}={v}" for k, v in kwargs.items())
            if params:
                url += "?" + params
            if isinstance(payload, dict):
                return check(requests.post(url, data=json.dumps(payload).encode(),
                                           headers={"Content-Type": "application/json"}, timeout=60, verify=self.verify))
            if payload:
                return check(requests.post(url, data=payload,
                                           headers={"Content-Type": "application/octet-stream"}, timeout=60, verify=self.verify))
            return check(requests.post(url, timeout=60, verify=self.verify))
        return call

    def _rpc_body(self, args, kwargs):
        return json.dumps({"args": _b64pickle(tuple(args)), "kwargs": _b64pickle(dict(kwargs))})

    def _rpc_method(self, name):
        def call(*args, **kwargs):
            _, result = check(requests.post(f"{self.url}/{name}", data=self._rpc_body(args, kwargs),
                                            headers={"Content-Type": "application/json"}, timeout=60, verify=self.verify))
            return pickle.loads(base64.b64decode(result["payload"]))
        return call

    def _async_method(self, name):
        def call(*args, **kwargs):
            _, result = check(requests.post(f"{self.url}/{name}", data=self._rpc_body(args, kwargs),
                                            headers={"Content-Type": "application/json"}, timeout=60, verify=self.verify))
            return Handle(self, result["ID"], result["suggested_wait"])
        return call
