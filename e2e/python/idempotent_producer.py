"""An idempotent, acks=all producer (librdkafka through confluent-kafka) writing unique values until told to stop.

usage: idempotent_producer.py BOOTSTRAP TOPIC NAME STOP_FILE [RATE_PER_S]
Values are NAME-SEQ (SEQ counts from 0). Every delivery report is one JSON line on stdout:
  {"v": value, "p": partition, "o": offset} when acknowledged, {"v": value, "err": text} when it failed.
It stops producing when STOP_FILE exists, then waits for every outstanding delivery report and prints
{"done": true, "sent": N}.
"""
import json
import os
import sys
import time

from confluent_kafka import Producer

bootstrap, topic, name, stop_file = sys.argv[1:5]
rate = float(sys.argv[5]) if len(sys.argv) > 5 else 200.0

producer = Producer({
    'bootstrap.servers': bootstrap,
    'enable.idempotence': True,
    'acks': 'all',
    'linger.ms': 5,
    # Failovers take a few seconds; a record may wait through several of them.
    'message.timeout.ms': 120000,
    # Longer than a paused leader stays paused before the test resumes it, so a request to it is answered rather than
    # timed out (librdkafka bumps the producer epoch after a request timeout; see the test's notes).
    'request.timeout.ms': int(os.environ.get('TRIB_PRODUCER_REQUEST_TIMEOUT_MS', '30000')),
    'error_cb': lambda err: print(f'librdkafka error: {err}', file=sys.stderr, flush=True),
    # Idempotence events (producer id and epoch changes, drains) on stderr: they tell a client-side epoch bump apart
    # from a broker that forgot a producer's state.
    'debug': os.environ.get('TRIB_PRODUCER_DEBUG', 'eos'),
    'retry.backoff.ms': 100,
    'topic.metadata.refresh.interval.ms': 1000,
})


def report(err, msg):
    value = msg.value().decode()
    if err is None:
        print(json.dumps({'v': value, 'p': msg.partition(), 'o': msg.offset()}), flush=True)
    else:
        print(json.dumps({'v': value, 'err': str(err)}), flush=True)


seq = 0
interval = 1.0 / rate
next_at = time.monotonic()
while not os.path.exists(stop_file):
    value = f'{name}-{seq}'
    try:
        producer.produce(topic, key=value.encode(), value=value.encode(), on_delivery=report)
        seq += 1
    except BufferError:
        producer.poll(0.05)
        continue
    producer.poll(0)
    next_at += interval
    delay = next_at - time.monotonic()
    if delay > 0:
        time.sleep(delay)
remaining = producer.flush(150)
print(json.dumps({'done': True, 'sent': seq, 'unflushed': remaining}), flush=True)
