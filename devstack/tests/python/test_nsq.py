"""The stand-in nsqd/nsqlookupd checked with clients from another ecosystem: pynsq (the
official Python client: Writer and Reader over TCP, Reader discovery through nsqlookupd)
and curl for the HTTP APIs. Run by test/standin-check, which starts x-msrv-devstack and
exports NSQD_TCP, NSQD_HTTP and NSQLOOKUPD_HTTP (host:port)."""

import asyncio
import json
import os
import subprocess
import uuid

import nsq

NSQD_TCP = os.environ["NSQD_TCP"]
NSQD_HTTP = os.environ["NSQD_HTTP"]
NSQLOOKUPD_HTTP = os.environ["NSQLOOKUPD_HTTP"]


def topic_name(prefix):
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def curl(*args):
    return subprocess.run(["curl", "-sS", *args], capture_output=True, text=True, check=True).stdout


def curl_status(*args):
    out = subprocess.run(
        ["curl", "-sS", "-o", "/dev/stderr", "-w", "%{http_code}", *args],
        capture_output=True, text=True, check=True,
    )
    return int(out.stdout), out.stderr


def channel_stats(topic, channel):
    stats = json.loads(curl(f"http://{NSQD_HTTP}/stats?format=json&topic={topic}"))
    for t in stats["topics"]:
        for c in t["channels"]:
            if c["channel_name"] == channel:
                return c
    return None


async def consume(topic, count, on_message, timeout=10.0, **reader_kwargs):
    """Runs a pynsq Reader until `count` messages were handled (or the timeout)."""
    received = []
    done = asyncio.Event()

    def handler(message):
        received.append(message)
        result = on_message(message)
        if len(received) >= count:
            done.set()
        return result

    kwargs = {"nsqd_tcp_addresses": [NSQD_TCP]}
    kwargs.update(reader_kwargs)
    reader = nsq.Reader(topic=topic, channel="py", message_handler=handler,
                        lookupd_poll_interval=1, max_in_flight=5, **kwargs)
    try:
        await asyncio.wait_for(done.wait(), timeout)
        await asyncio.sleep(0.3)  # let the last FIN/REQ reach nsqd
    finally:
        reader.close()
    return received


async def publish_with_writer(topic, bodies):
    writer = nsq.Writer([NSQD_TCP])
    results = []
    finished = asyncio.Event()

    def callback(conn, data):
        results.append(data)
        finished.set()

    for _ in range(50):  # the Writer connects in the background
        if writer.conns:
            break
        await asyncio.sleep(0.1)
    writer.mpub(topic, [b.encode() for b in bodies], callback=callback)
    await asyncio.wait_for(finished.wait(), 10)
    for conn in list(writer.conns.values()):
        conn.close()
    return results


def test_http_pub_mpub_and_stats_with_curl():
    topic = topic_name("curl")
    assert curl("-d", "hello", f"http://{NSQD_HTTP}/pub?topic={topic}") == "OK"
    assert curl("--data-binary", "a\nb\nc\n", f"http://{NSQD_HTTP}/mpub?topic={topic}") == "OK"
    # nsqd answers a create with 200 and an empty body.
    assert curl("-X", "POST", f"http://{NSQD_HTTP}/channel/create?topic={topic}&channel=py") == ""
    stats = channel_stats(topic, "py")
    assert stats["depth"] == 4
    code, body = curl_status("-d", "", f"http://{NSQD_HTTP}/pub?topic={topic}")
    assert (code, json.loads(body)) == (400, {"message": "MSG_EMPTY"})
    assert curl(f"http://{NSQD_HTTP}/ping") == "OK"


def test_lookupd_lookup_with_curl():
    topic = topic_name("lookup")
    curl("-d", "x", f"http://{NSQD_HTTP}/pub?topic={topic}")
    found = json.loads(curl(f"http://{NSQLOOKUPD_HTTP}/lookup?topic={topic}"))
    producer = found["producers"][0]
    assert f"{producer['broadcast_address']}:{producer['tcp_port']}" == NSQD_TCP
    code, body = curl_status(f"http://{NSQLOOKUPD_HTTP}/lookup?topic=nothing-{uuid.uuid4().hex[:6]}")
    assert (code, json.loads(body)) == (404, {"message": "TOPIC_NOT_FOUND"})


def test_pynsq_writer_then_reader_finishes_everything():
    topic = topic_name("pynsq")

    async def scenario():
        results = await publish_with_writer(topic, [f"m{i}" for i in range(20)])
        assert results == [b"OK"]
        return await consume(topic, 20, lambda m: True)

    received = asyncio.run(scenario())
    assert sorted(m.body.decode() for m in received) == sorted(f"m{i}" for i in range(20))
    stats = channel_stats(topic, "py")
    assert (stats["depth"], stats["in_flight_count"], stats["message_count"]) == (0, 0, 20)


def test_pynsq_requeue_counts_attempts():
    topic = topic_name("requeue")
    curl("-d", "again", f"http://{NSQD_HTTP}/pub?topic={topic}")
    attempts = []

    def once_then_finish(message):
        attempts.append(message.attempts)
        if len(attempts) == 1:
            message.enable_async()
            message.requeue(backoff=False, time_ms=0)
            return None
        return True

    asyncio.run(consume(topic, 2, once_then_finish))
    assert attempts == [1, 2]
    stats = channel_stats(topic, "py")
    assert (stats["requeue_count"], stats["depth"], stats["in_flight_count"]) == (1, 0, 0)


def test_pynsq_reader_finds_nsqd_through_lookupd():
    topic = topic_name("discover")
    curl("--data-binary", "x\ny\n", f"http://{NSQD_HTTP}/mpub?topic={topic}")
    received = asyncio.run(consume(topic, 2, lambda m: True, nsqd_tcp_addresses=None,
                                   lookupd_http_addresses=[f"http://{NSQLOOKUPD_HTTP}"]))
    assert sorted(m.body for m in received) == [b"x", b"y"]


def test_http_errors_and_methods_with_curl():
    topic = topic_name("errors")
    code, body = curl_status("-X", "POST", f"http://{NSQD_HTTP}/ping")
    assert (code, json.loads(body)) == (405, {"message": "METHOD_NOT_ALLOWED"})
    code, body = curl_status(f"http://{NSQD_HTTP}/no/such/path")
    assert (code, json.loads(body)) == (404, {"message": "NOT_FOUND"})
    code, body = curl_status("--data-binary", "@-", f"http://{NSQD_HTTP}/pub?topic={topic}")
    assert (code, json.loads(body)) == (400, {"message": "MSG_EMPTY"})
    code, body = curl_status("-d", "x", f"http://{NSQD_HTTP}/pub?topic=bad/name")
    assert (code, json.loads(body)) == (400, {"message": "INVALID_TOPIC"})
    code, body = curl_status("-X", "POST", f"http://{NSQD_HTTP}/channel/create?topic={topic}&channel=c")
    assert (code, json.loads(body)) == (404, {"message": "TOPIC_NOT_FOUND"})
    binary = (2).to_bytes(4, "big") + (3).to_bytes(4, "big") + b"one" + (3).to_bytes(4, "big") + b"two"
    out = subprocess.run(
        ["curl", "-sS", "--data-binary", "@-", f"http://{NSQD_HTTP}/mpub?topic={topic}&binary=true"],
        input=binary, capture_output=True, check=True,
    )
    assert out.stdout == b"OK"
    info = json.loads(curl(f"http://{NSQD_HTTP}/info"))
    assert info["version"] == "1.3.0"
    assert f"127.0.0.1:{info['tcp_port']}" == NSQD_TCP
    stats = json.loads(curl(f"http://{NSQD_HTTP}/stats?format=json&topic={topic}"))
    assert stats["topics"][0]["message_count"] == 2
    assert stats["topics"][0]["depth"] == 2  # no channel yet: the topic holds them


def test_pynsq_unfinished_message_times_out_and_comes_back():
    topic = topic_name("timeout")
    curl("-d", "slow", f"http://{NSQD_HTTP}/pub?topic={topic}")
    attempts = []

    def hold_first(message):
        attempts.append(message.attempts)
        if len(attempts) == 1:
            message.enable_async()  # never answered: nsqd times it out after msg_timeout
            return None
        return True

    asyncio.run(consume(topic, 2, hold_first, msg_timeout=1))  # pynsq: seconds
    assert attempts == [1, 2]
    stats = channel_stats(topic, "py")
    assert (stats["timeout_count"], stats["in_flight_count"], stats["depth"]) == (1, 0, 0)


def test_pynsq_writer_dpub_is_deferred():
    topic = topic_name("dpub")
    curl("-X", "POST", f"http://{NSQD_HTTP}/topic/create?topic={topic}")
    curl("-X", "POST", f"http://{NSQD_HTTP}/channel/create?topic={topic}&channel=py")

    async def scenario():
        writer = nsq.Writer([NSQD_TCP])
        done = asyncio.Event()
        results = []
        for _ in range(50):
            if writer.conns:
                break
            await asyncio.sleep(0.1)
        writer.dpub(topic, 60000, b"later", callback=lambda conn, data: (results.append(data), done.set()))
        await asyncio.wait_for(done.wait(), 10)
        for conn in list(writer.conns.values()):
            conn.close()
        return results

    assert asyncio.run(scenario()) == [b"OK"]
    stats = channel_stats(topic, "py")
    assert (stats["deferred_count"], stats["depth"]) == (1, 0)
