"""Conversations through the TARP Python client: an endpoint `chat` of kind session appears as
the RPC methods chat_open, chat_send and chat_close (and a blob result arrives as bytes).
Prints 'OK <name>' or 'FAIL <name>: <why>' per check; exits non-zero if any failed. Usage: tarp_conversation.py http://127.0.0.1:PORT"""
import sys

import tarp_client
from checks import check, expect, finish

URL = sys.argv[1]

client = tarp_client.Client(URL)


def three_turns():
    h = client.chat_open()
    expect(isinstance(h, str) and len(h) == 36, f"a handle string, got {h!r}")
    for text in ("alpha", "beta", "gamma"):
        reply = client.chat_send(h, text)
        expect(reply == "echo: " + text, f"reply to {text!r} was {reply!r}")
    expect(client.chat_close(h) is None, "close returns None")


def keywords():
    h = client.chat_open()
    reply = client.chat_send(session=h, message="by name")
    expect(reply == "echo: by name", f"got {reply!r}")
    client.chat_close(session=h)


def closed_session_is_an_error():
    h = client.chat_open()
    client.chat_close(h)
    try:
        client.chat_send(h, "anyone?")
    except tarp_client.ApiError as e:
        expect(e.status == 410, f"status {e.status}")
        expect(e.body["type"] == "SessionClosed", f"type {e.body['type']}")
        return
    raise AssertionError("sending to a closed session succeeded")


def bye_ends_it():
    h = client.chat_open()
    expect(client.chat_send(h, "bye") == "bye", "the return value is the last reply")
    try:
        client.chat_close(h)
    except tarp_client.ApiError as e:
        expect(e.status == 410, f"status {e.status}")
        return
    raise AssertionError("closing an ended session succeeded")


def slash_names_use_underscores():
    h = client.tools_chat_open()
    expect(client.tools_chat_send(h, "x") == "echo: x", "tools/chat answers as tools_chat_send")
    client.tools_chat_close(h)


def blob_result_is_bytes():
    # Not a conversation: an RPC endpoint whose result is a blob answers Python bytes.
    data = client.blob_rpc("raw \u00e9 bytes")
    expect(data == "raw \u00e9 bytes".encode(), f"got {data!r}")


check("three_turns", three_turns)
check("keywords", keywords)
check("closed_session_is_an_error", closed_session_is_an_error)
check("bye_ends_it", bye_ends_it)
check("slash_names_use_underscores", slash_names_use_underscores)
check("blob_result_is_bytes", blob_result_is_bytes)
finish()
