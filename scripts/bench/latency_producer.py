"""Produce N records of SIZE bytes as fast as librdkafka allows; print one JSON line with throughput and the
per-record latency (produce() call to delivery report) percentiles.

usage: latency_producer.py BOOTSTRAP TOPIC N SIZE ACKS [IDEMPOTENCE]
IDEMPOTENCE: 1 or 0 (default: 1 with acks=all, else 0).
"""
import json
import sys
import time

from confluent_kafka import Producer

bootstrap, topic, n, size, acks = sys.argv[1], sys.argv[2], int(sys.argv[3]), int(sys.argv[4]), sys.argv[5]
idempotence = sys.argv[6] == '1' if len(sys.argv) > 6 else acks == 'all'
producer = Producer({
    'bootstrap.servers': bootstrap,
    'acks': acks,
    'linger.ms': 5,
    'batch.size': 262144,
    'queue.buffering.max.messages': 200000,
    'enable.idempotence': idempotence,
})
payload = b'x' * size
latencies = []
errors = 0


def report(err, sent):
    global errors
    if err is not None:
        errors += 1
        return
    latencies.append(time.monotonic() - sent)


start = time.monotonic()
for i in range(n):
    while True:
        try:
            sent = time.monotonic()
            # The callback only needs the send time: no per-message objects beyond the closure (the client's own CPU
            # is part of what the machine shares with the brokers).
            producer.produce(topic, value=payload, key=str(i).encode(), on_delivery=lambda err, msg, sent=sent: report(err, sent))
            break
        except BufferError:
            producer.poll(0.01)
    if i % 1000 == 0:
        producer.poll(0)
producer.flush(120)
elapsed = time.monotonic() - start
latencies.sort()


def pct(p):
    return round(latencies[min(len(latencies) - 1, int(len(latencies) * p))] * 1000, 2) if latencies else None


print(json.dumps({
    'acks': acks, 'idempotence': idempotence, 'records': len(latencies), 'errors': errors, 'seconds': round(elapsed, 3),
    'records_per_s': round(len(latencies) / elapsed), 'mb_per_s': round(len(latencies) * size / elapsed / 1e6, 1),
    'p50_ms': pct(0.5), 'p99_ms': pct(0.99),
}))
